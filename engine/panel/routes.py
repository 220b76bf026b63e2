"""The restaurant's web panel at ``/panel``: ``panel_routes`` is its only entry.

Pages (Spanish, server-rendered, every customer's word HTML-escaped): sign-in, the kitchen board
(live through server-sent events), a ticket per order, menu and hours, taken-over conversations,
today in numbers, the order flow as a picture and a chat preview. Every change is a POST with
the cookie's CSRF token; status changes, sold-out marks and hours go through the admin desk, so
they do exactly what the WhatsApp commands do.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Awaitable, Callable, Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from engine.model.order import STATUSES, StoredOrder
from engine.orders.store import OrderStore, OrderStoreError
from engine.panel import live
from engine.panel.board import STATUS_NAMES, board_context, card, todays_orders
from engine.panel.graph import render_graph, render_svg
from engine.panel.hub import PanelHub
from engine.panel.pages import Pages
from engine.panel.preview import EMPTY, PreviewState, preview_turn
from engine.panel.security import (
    OFF_NOTICE,
    OPEN_WARNING,
    SECURITY_HEADERS,
    Cookies,
    PanelConfig,
    SignInLimits,
    Visit,
    client_address,
    csrf_ok,
)
from engine.panel.stats import day_numbers, hours_chart
from engine.runtime.flows import Flows
from engine.runtime.phones import mask, parse_phone
from engine.service.admin import StoredOverrides
from engine.service.clock import Clock

MAX_FORM_BYTES = 16 * 1024
MAX_ORDER_NUMBER = 999_999_999
"""Larger numbers are no order (and more than a database integer holds)."""


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


def panel_routes(flows: Flows, config: PanelConfig, desk_of: DeskOf, hub_of: HubOf, clock: Clock,
                 log: logging.Logger) -> list[BaseRoute]:
    """The panel's routes (none when it is off: production without ``PANEL_PASSWORD``)."""
    if not config.enabled:
        log.info(OFF_NOTICE)
        return []
    if config.open:
        log.warning(OPEN_WARNING)
    pages = Pages(flows.restaurant.name)
    cookies = Cookies(config, lambda: clock().timestamp())
    zone = ZoneInfo(flows.hours.timezone)

    def page(request: Request, visit: Visit, name: str, page_id: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return pages.response(
            name, status_code, csrf=visit.csrf, signed_in=visit.signed_in, open_panel=config.open, page=page_id,
            notice=request.query_params.get("aviso"), **context,
        )

    def signed_in(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Only for a signed-in browser (on a laptop without password, every browser is)."""

        async def endpoint(request: Request) -> Response:
            visit = cookies.read(request)
            fresh = None
            if config.open and (visit is None or not visit.signed_in):
                visit = fresh = cookies.visit(signed_in=True)
            if visit is not None and fresh is None:
                fresh = cookies.renewed(visit)  # a kitchen tablet stays signed in while it is used
            if visit is None or not visit.signed_in:
                if request.method == "GET" and "text/event-stream" not in request.headers.get("accept", ""):
                    return RedirectResponse("/panel/entrar", status_code=303)
                return JSONResponse({"error": "Inicia sesión otra vez."}, status_code=401, headers=SECURITY_HEADERS)
            if request.method == "POST" and not csrf_ok(request, visit, await _form(request)):
                return refused(request, visit)
            try:
                response = await handler(request, visit)
            except OrderStoreError:
                log.warning("⚠️ El panel no pudo leer o cambiar los pedidos: la base de pedidos no responde")
                response = unavailable(request, visit)
            if fresh is not None:
                cookies.attach(response, fresh)
            return response

        return endpoint

    def unavailable(request: Request, visit: Visit) -> Response:
        text = "La base de pedidos no responde ahora. Nada se perdió: intenta otra vez en un momento."
        if _wants_json(request):
            return JSONResponse({"error": text}, status_code=503, headers=SECURITY_HEADERS)
        return page(request, visit, "message.html", "unavailable", 503, title="Sin pedidos por ahora", text=text)

    def refused(request: Request, visit: Visit) -> Response:
        text = "La página caducó o la petición no vino del panel: vuelve a cargar la página."
        if _wants_json(request):
            return JSONResponse({"error": text}, status_code=403, headers=SECURITY_HEADERS)
        return page(request, visit, "message.html", "refused", 403, title="No se hizo el cambio", text=text)

    # ------------------------------------------------------------ sign-in

    async def sign_in_form(request: Request) -> Response:
        visit = cookies.read(request)
        if config.open or (visit is not None and visit.signed_in):
            return RedirectResponse("/panel", status_code=303)
        visit = cookies.visit(signed_in=False)
        response = page(request, visit, "signin.html", "signin")
        cookies.attach(response, visit)
        return response

    async def sign_in(request: Request) -> Response:
        if config.open:
            return RedirectResponse("/panel", status_code=303)
        visit = cookies.read(request)
        form = await _form(request)
        anonymous = cookies.visit(signed_in=False)
        if visit is None or not csrf_ok(request, visit, form):
            response = page(request, anonymous, "signin.html", "signin", 403,
                            error="La página caducó: escribe la contraseña otra vez.")
            cookies.attach(response, anonymous)
            return response
        limits = SignInLimits(hub_of(request).store, lambda: clock().timestamp())
        if not await limits.admit(client_address(request, config.production)):
            log.warning("⛔ Demasiados intentos de entrar al panel")
            response = page(request, anonymous, "signin.html", "signin", 429,
                            error="Demasiados intentos. Espera unos minutos y vuelve a intentar.")
            cookies.attach(response, anonymous)
            return response
        if not _same(str(form.get("password", "")), config.password or ""):
            log.warning("⛔ Contraseña equivocada en el panel")
            response = page(request, anonymous, "signin.html", "signin", 401, error="Contraseña equivocada.")
            cookies.attach(response, anonymous)
            return response
        log.info("🔓 Alguien entró al panel")
        welcome = RedirectResponse("/panel", status_code=303)
        cookies.attach(welcome, cookies.visit(signed_in=True))
        return welcome

    async def sign_out(request: Request, visit: Visit) -> Response:
        response = RedirectResponse("/panel/entrar", status_code=303)
        cookies.clear(response)
        return response

    # ------------------------------------------------------------ the board

    async def board_data(request: Request) -> dict[str, Any]:
        orders = await todays_orders(desk_of(request).orders, clock(), zone)
        return board_context(flows, orders)

    async def board(request: Request, visit: Visit) -> Response:
        return page(request, visit, "board.html", "board", today=clock().astimezone(zone).strftime("%d/%m/%Y"),
                    **(await board_data(request)))

    async def board_fragment(request: Request, visit: Visit) -> Response:
        html = pages.render("board_fragment.html", csrf=visit.csrf, **(await board_data(request)))
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    async def change_status(request: Request, visit: Visit) -> Response:
        form = await _form(request)
        status = str(form.get("status", ""))
        number = int(request.path_params["number"])
        if number > MAX_ORDER_NUMBER:
            return _bad(request, f"No existe el pedido #{number}.", 404)
        if status not in STATUSES:
            return _bad(request, f"Estado desconocido: usa uno de {', '.join(STATUSES)}.")
        stored = await desk_of(request).set_status(number, status)
        if stored is None:
            return _bad(request, f"No existe el pedido #{number}.", 404)
        if _wants_json(request):
            return JSONResponse({"number": stored.number, "status": stored.status}, headers=SECURITY_HEADERS)
        return _done(request, "/panel", f"Pedido #{number}: {STATUS_NAMES[status]}. Se le avisó al cliente.")

    async def ticket(request: Request, visit: Visit) -> Response:
        number = int(request.path_params["number"])
        stored = await desk_of(request).orders.get(number) if number <= MAX_ORDER_NUMBER else None
        if stored is None:
            return page(request, visit, "message.html", "missing", 404, title="No existe ese pedido",
                        text="Revisa el número del pedido.")
        day = stored.placed_at.astimezone(zone).strftime("%d/%m/%Y")
        return pages.response("ticket.html", c=card(flows, stored), day=day)

    async def events(request: Request, visit: Visit) -> Response:
        async def stream() -> AsyncIterator[ServerSentEvent]:
            async for version in live.versions(lambda: live_version(request), config.poll_seconds, log):
                if await request.is_disconnected() or visit.expires <= clock().timestamp():
                    return  # an expired sign-in gets no more news: the page's reconnect asks again
                yield ServerSentEvent(data=version, event="cambio", id=version)

        return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def live_version(request: Request) -> str:
        orders = await todays_orders(desk_of(request).orders, clock(), zone)
        hub = hub_of(request)
        return f"{board_context(flows, orders)['version']}-{await hub.conversations.version()}"

    # ------------------------------------------------------------ menu and hours

    async def menu(request: Request, visit: Visit) -> Response:
        overrides = await StoredOverrides(hub_of(request).store).load()
        now = clock()
        forced = overrides.forced(now)
        categories = [
            {"name": c.name, "emoji": c.emoji,
             "items": [{"id": i.id, "name": i.name, "price": i.price, "available": overrides.available(i)} for i in c.items]}
            for c in flows.menu.categories
        ]
        until = datetime.fromtimestamp(overrides.until, zone).strftime("%d/%m %H:%M") if forced is not None else ""
        return page(request, visit, "menu.html", "menu", categories=categories, forced=forced, forced_until=until,
                    taking_orders=overrides.taking_orders(flows.hours, now))

    async def mark_item(request: Request, visit: Visit) -> Response:
        item_id = str(request.path_params["item"])
        if item_id not in flows.menu.items:
            return _bad(request, f"No hay «{item_id}» en el menú.", 404)
        available = str((await _form(request)).get("available", "")) == "1"
        said = await desk_of(request).mark_item(available, item_id)
        return _done(request, "/panel/menu", said)

    async def force_hours(request: Request, visit: Visit) -> Response:
        choice = str((await _form(request)).get("open", ""))
        if choice not in ("0", "1"):
            return _bad(request, "Elige abrir o cerrar.")
        said = await desk_of(request).force_hours(choice == "1")
        return _done(request, "/panel/menu", said)

    # ------------------------------------------------------------ conversations

    async def conversations_data(request: Request) -> dict[str, Any]:
        talks = await hub_of(request).conversations.current()
        return {"conversations": [
            {"id": _digits(t.customer), "customer": t.customer,
             "until": datetime.fromtimestamp(t.until, zone).strftime("%H:%M"),
             "messages": [{"who": m.who, "text": m.text, "time": datetime.fromtimestamp(m.at, zone).strftime("%H:%M")}
                          for m in t.messages]}
            for t in talks
        ]}

    async def conversations(request: Request, visit: Visit) -> Response:
        return page(request, visit, "conversations.html", "conversations", **(await conversations_data(request)))

    async def conversations_fragment(request: Request, visit: Visit) -> Response:
        html = pages.render("conversations_fragment.html", csrf=visit.csrf, **(await conversations_data(request)))
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    async def customer_of(request: Request) -> str | None:
        raw = str((await _form(request)).get("customer", ""))
        return parse_phone(raw, flows.restaurant.country) if raw else None

    async def answer(request: Request, visit: Visit) -> Response:
        customer = await customer_of(request)
        text = str((await _form(request)).get("text", "")).strip()
        hub = hub_of(request)
        if customer is None or customer not in await hub.conversations.held():
            return _bad(request, "Ese cliente no está con una persona ahora: tómalo primero.", 409)
        if not text:
            return _bad(request, "Escribe la respuesta.")
        await hub.conversations.reply(customer, text[:1500])
        log.info("💬 El equipo le contestó a %s desde el panel", mask(customer))
        return _done(request, "/panel/conversaciones", "Enviado.")

    async def take_or_release(request: Request, take: bool) -> Response:
        customer = await customer_of(request)
        if customer is None:
            return _bad(request, "Ese número no parece válido: escríbelo con lada, ej. +52 55 1234 5678.")
        said = await desk_of(request).hand_over(take, customer)
        return _done(request, "/panel/conversaciones", said)

    async def take(request: Request, visit: Visit) -> Response:
        return await take_or_release(request, True)

    async def release(request: Request, visit: Visit) -> Response:
        return await take_or_release(request, False)

    # ------------------------------------------------------------ today, the flow, the preview

    async def today(request: Request, visit: Visit) -> Response:
        now = clock()
        orders = await todays_orders(desk_of(request).orders, now, zone)
        numbers = day_numbers(orders, zone)
        tally = hub_of(request).tally
        await tally.flush()  # what this instance noted, so the page is up to date for it
        return page(request, visit, "today.html", "today", numbers=numbers, chart=hours_chart(numbers.per_hour),
                    funnel=await tally.funnel(tally.day(now.timestamp())), today=now.astimezone(zone).strftime("%d/%m/%Y"),
                    session_minutes=flows.restaurant.session_minutes)

    flow_svg = Markup(render_svg(flows))
    flow_texts = {"mermaid": render_graph(flows, "mermaid"), "dot": render_graph(flows, "dot")}

    async def flow(request: Request, visit: Visit) -> Response:
        return page(request, visit, "flow.html", "flow", svg=flow_svg, mermaid=flow_texts["mermaid"], dot=flow_texts["dot"])

    def preview_page(request: Request, visit: Visit, state: PreviewState, when: datetime) -> Response:
        step = state.session.step if state.session is not None else None
        return page(request, visit, "preview.html", "preview", bubbles=state.bubbles, state=state.to_json(),
                    day=when.strftime("%Y-%m-%d"), time=when.strftime("%H:%M"), step=step)

    async def preview(request: Request, visit: Visit) -> Response:
        return preview_page(request, visit, EMPTY, clock().astimezone(zone))

    async def preview_say(request: Request, visit: Visit) -> Response:
        form = await _form(request)
        when = _moment(str(form.get("fecha", "")), str(form.get("hora", "")), zone) or clock().astimezone(zone)
        if form.get("reiniciar"):
            return preview_page(request, visit, EMPTY, when)
        state = PreviewState.from_json(str(form.get("estado", "")))
        text = str(form.get("texto", "")).strip()
        if text:
            overrides = await StoredOverrides(hub_of(request).store).load()
            state = preview_turn(flows, state, text, when, overrides)
        return preview_page(request, visit, state, when)

    return [
        Route("/panel", signed_in(board), methods=["GET"]),
        Route("/panel/menu", signed_in(menu), methods=["GET"]),
        Route("/panel/menu/{item}", signed_in(mark_item), methods=["POST"]),
        Route("/panel/horario", signed_in(force_hours), methods=["POST"]),
        Route("/panel/conversaciones", signed_in(conversations), methods=["GET"]),
        Route("/panel/conversaciones/lista", signed_in(conversations_fragment), methods=["GET"]),
        Route("/panel/conversaciones/responder", signed_in(answer), methods=["POST"]),
        Route("/panel/conversaciones/tomar", signed_in(take), methods=["POST"]),
        Route("/panel/conversaciones/soltar", signed_in(release), methods=["POST"]),
        Route("/panel/hoy", signed_in(today), methods=["GET"]),
        Route("/panel/flujo", signed_in(flow), methods=["GET"]),
        Route("/panel/probar", signed_in(preview), methods=["GET"]),
        Route("/panel/probar", signed_in(preview_say), methods=["POST"]),
        Route("/panel/entrar", sign_in_form, methods=["GET"]),
        Route("/panel/entrar", sign_in, methods=["POST"]),
        Route("/panel/salir", signed_in(sign_out), methods=["POST"]),
        Route("/panel/tablero", signed_in(board_fragment), methods=["GET"]),
        Route("/panel/eventos", signed_in(events), methods=["GET"]),
        Route("/panel/pedidos/{number:int}/estado", signed_in(change_status), methods=["POST"]),
        Route("/panel/pedidos/{number:int}/ticket", signed_in(ticket), methods=["GET"]),
        Mount("/panel/static", app=StaticFiles(packages=[("engine.panel", "static")]), name="panel-static"),
    ]


async def _form(request: Request) -> FormData:
    """The request's form (cached by Starlette), or an empty one for anything that is not a small form."""
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


def _done(request: Request, back: str, notice: str) -> Response:
    """A change went through: JSON for the page's script, else back to the page with a notice."""
    if _wants_json(request):
        return JSONResponse({"notice": notice}, headers=SECURITY_HEADERS)
    return RedirectResponse(f"{back}?{urlencode({'aviso': notice})}", status_code=303)


def _moment(day: str, time: str, zone: ZoneInfo) -> datetime | None:
    try:
        return datetime.strptime(f"{day} {time}", "%Y-%m-%d %H:%M").replace(tzinfo=zone)
    except ValueError:
        return None


def _digits(customer: str) -> str:
    return "".join(ch for ch in customer if ch.isdigit())


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _bad(request: Request, text: str, status_code: int = 400) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": text}, status_code=status_code, headers=SECURITY_HEADERS)
    return HTMLResponse(f"<p>{_escape(text)}</p>", status_code=status_code, headers=SECURITY_HEADERS)


def _escape(text: str) -> str:
    return str(escape(text))


def _same(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
