"""What every page of the panel shares: the flows and the clock, the desk and the hub of a
request, rendering, and the doors (signed in? the change's CSRF token?)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Awaitable, Callable, Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from engine.model.order import StoredOrder
from engine.orders.store import OrderStore, OrderStoreError
from engine.panel.hub import PanelHub
from engine.panel.pages import Pages
from engine.panel.security import SECURITY_HEADERS, Cookies, PanelConfig, Visit, csrf_ok
from engine.runtime.flows import Flows
from engine.service.clock import Clock

MAX_FORM_BYTES = 16 * 1024
SCRIPT_HEADER = "x-panel-script"
"""Sent by panel.js with what it fetches: an expired sign-in answers 401 rather than a redirect."""


class PanelDesk(Protocol):
    """What the panel asks of ``engine.service.admin.AdminDesk``."""

    orders: OrderStore

    async def set_status(self, number: int, status: str) -> StoredOrder | None: ...

    async def mark_item(self, available: bool, argument: str) -> str: ...

    async def force_hours(self, open_: bool) -> str: ...

    async def hand_over(self, take: bool, argument: str) -> str: ...


DeskOf = Callable[[Request], PanelDesk]
HubOf = Callable[[Request], PanelHub]
Handler = Callable[[Request, Visit], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


class Web:
    def __init__(self, flows: Flows, config: PanelConfig, desk_of: DeskOf, hub_of: HubOf, clock: Clock,
                 log: logging.Logger) -> None:
        self.flows, self.config, self.desk_of, self.hub_of, self.clock, self.log = flows, config, desk_of, hub_of, clock, log
        self.pages = Pages(flows.restaurant.name, flows.restaurant.money)
        self.cookies = Cookies(config, self.now)
        self.zone = ZoneInfo(flows.hours.timezone)

    def now(self) -> float:
        return self.clock().timestamp()

    def local(self, moment: float) -> datetime:
        return datetime.fromtimestamp(moment, self.zone)

    # ------------------------------------------------------------ answers

    def page(self, request: Request, visit: Visit, name: str, page_id: str, status_code: int = 200,
             **context: Any) -> HTMLResponse:
        return self.pages.response(
            name, status_code, csrf=visit.csrf, signed_in=visit.signed_in, open_panel=self.config.open, page=page_id,
            notice=request.query_params.get("aviso"), **context,
        )

    def part(self, name: str, visit: Visit, **context: Any) -> HTMLResponse:
        """A piece of a page, for the page's script to put in place."""
        return HTMLResponse(self.pages.render(name, csrf=visit.csrf, **context), headers=SECURITY_HEADERS)

    def problem(self, request: Request, visit: Visit, text: str, status_code: int = 400,
                title: str = "No se hizo el cambio") -> Response:
        """A clear answer to what cannot be done: JSON for the page's script, else a page."""
        if wants_json(request):
            return JSONResponse({"error": text}, status_code=status_code, headers=SECURITY_HEADERS)
        return self.page(request, visit, "message.html", "problem", status_code, title=title, text=text)

    @staticmethod
    def done(request: Request, back: str, notice: str) -> Response:
        """A change went through: JSON for the page's script, else back to the page with a notice."""
        if wants_json(request):
            return JSONResponse({"notice": notice}, headers=SECURITY_HEADERS)
        return RedirectResponse(f"{back}?{urlencode({'aviso': notice})}", status_code=303)

    # ------------------------------------------------------------ the doors

    def signed_in(self, handler: Handler) -> Endpoint:
        """Only for a signed-in browser (on a laptop without password, every browser is); a POST
        also needs this browser's CSRF token."""

        async def endpoint(request: Request) -> Response:
            visit = self.cookies.read(request)
            fresh = None
            if self.config.open and (visit is None or not visit.signed_in):
                visit = fresh = self.cookies.visit(signed_in=True)
            if visit is not None and fresh is None:
                fresh = self.cookies.renewed(visit)  # a kitchen tablet stays signed in while it is used
            if visit is None or not visit.signed_in:
                if request.method == "GET" and navigation(request):
                    return RedirectResponse("/panel/entrar", status_code=303)
                return JSONResponse({"error": "Inicia sesión otra vez."}, status_code=401, headers=SECURITY_HEADERS)
            if request.method == "POST" and not csrf_ok(request, visit, await read_form(request)):
                return self.problem(request, visit, "La página caducó o la petición no vino del panel: "
                                    "vuelve a cargar la página.", 403)
            try:
                response = await handler(request, visit)
            except OrderStoreError:
                self.log.warning("⚠️ El panel no pudo leer o cambiar los pedidos: la base de pedidos no responde")
                response = self.problem(request, visit, "La base de pedidos no responde ahora. Nada se perdió: "
                                        "intenta otra vez en un momento.", 503, title="Sin pedidos por ahora")
            if fresh is not None:
                self.cookies.attach(response, fresh)
            return response

        return endpoint


async def read_form(request: Request) -> FormData:
    """The request's form (Starlette keeps it once read), or an empty one for anything that is
    not a small form."""
    if request.method != "POST":
        return FormData()
    kind = request.headers.get("content-type", "")
    if not kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return FormData()
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_FORM_BYTES):
        return FormData()
    try:
        return await request.form(max_files=0, max_fields=50)
    except Exception:  # noqa: BLE001  a malformed body is an empty form: the change is refused
        return FormData()


def navigation(request: Request) -> bool:
    """A page the browser goes to, not the panel's script fetching a part or the live feed."""
    return request.headers.get(SCRIPT_HEADER) != "1" and "text/event-stream" not in request.headers.get("accept", "")


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")
