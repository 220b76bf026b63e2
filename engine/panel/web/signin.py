"""Signing in and out: the password, checked in constant time, at most a few tries per window."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from engine.panel.security import SignInLimits, Visit, client_address, csrf_ok
from engine.panel.web.common import Web, read_form


def signin_routes(web: Web) -> list[BaseRoute]:
    cookies, config, log = web.cookies, web.config, web.log

    def form_again(request: Request, status_code: int, error: str | None = None) -> Response:
        visit = cookies.visit(signed_in=False)
        response = web.page(request, visit, "signin.html", "signin", status_code, error=error)
        cookies.attach(response, visit)
        return response

    async def sign_in_form(request: Request) -> Response:
        visit = cookies.read(request)
        if config.open or (visit is not None and visit.signed_in):
            return RedirectResponse("/panel", status_code=303)
        return form_again(request, 200)

    async def sign_in(request: Request) -> Response:
        if config.open:
            return RedirectResponse("/panel", status_code=303)
        form = await read_form(request)
        if not csrf_ok(request, cookies.read(request), form):
            return form_again(request, 403, "La página caducó: escribe la contraseña otra vez.")
        limits = SignInLimits(web.hub_of(request).store, web.now)
        if not await limits.admit(client_address(request, config.production)):
            log.warning("⛔ Demasiados intentos de entrar al panel")
            return form_again(request, 429, "Demasiados intentos. Espera unos minutos y vuelve a intentar.")
        if not same(str(form.get("password", "")), config.password or ""):
            log.warning("⛔ Contraseña equivocada en el panel")
            return form_again(request, 401, "Contraseña equivocada.")
        log.info("🔓 Alguien entró al panel")
        welcome = RedirectResponse("/panel", status_code=303)
        cookies.attach(welcome, cookies.visit(signed_in=True))
        return welcome

    async def sign_out(request: Request, visit: Visit) -> Response:
        response = RedirectResponse("/panel/entrar", status_code=303)
        cookies.clear(response)
        return response

    return [
        Route("/panel/entrar", sign_in_form, methods=["GET"]),
        Route("/panel/entrar", sign_in, methods=["POST"]),
        Route("/panel/salir", web.signed_in(sign_out), methods=["POST"]),
    ]


def same(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
