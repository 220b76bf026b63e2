"""The kitchen board: the page, its live part, moving an order, its ticket and the live feed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from engine.model.order import STATUSES
from engine.panel import live
from engine.panel.board import STATUS_NAMES, board_context, card, todays_orders
from engine.panel.security import SECURITY_HEADERS, Visit
from engine.panel.web.common import Web, read_form, wants_json

MAX_ORDER_NUMBER = 999_999_999
"""Larger numbers are no order (and more than a database integer holds)."""


def board_routes(web: Web) -> list[BaseRoute]:
    flows, clock, zone = web.flows, web.clock, web.zone

    async def board_data(request: Request) -> dict[str, Any]:
        return board_context(flows, await todays_orders(web.desk_of(request).orders, clock(), zone))

    async def board(request: Request, visit: Visit) -> Response:
        return web.page(request, visit, "board.html", "board", today=clock().astimezone(zone).strftime("%d/%m/%Y"),
                        **(await board_data(request)))

    async def board_part(request: Request, visit: Visit) -> Response:
        return web.part("board_fragment.html", visit, **(await board_data(request)))

    async def change_status(request: Request, visit: Visit) -> Response:
        status = str((await read_form(request)).get("status", ""))
        number = int(request.path_params["number"])
        if status not in STATUSES:
            return web.problem(request, visit, f"Estado desconocido: usa uno de {', '.join(STATUSES)}.")
        stored = await web.desk_of(request).set_status(number, status) if number <= MAX_ORDER_NUMBER else None
        if stored is None:
            return web.problem(request, visit, f"No existe el pedido #{number}.", 404)
        if wants_json(request):
            return JSONResponse({"number": stored.number, "status": stored.status}, headers=SECURITY_HEADERS)
        return web.done(request, "/panel", f"Pedido #{number}: {STATUS_NAMES[status]}. Se le avisó al cliente.")

    async def ticket(request: Request, visit: Visit) -> Response:
        number = int(request.path_params["number"])
        stored = await web.desk_of(request).orders.get(number) if number <= MAX_ORDER_NUMBER else None
        if stored is None:
            return web.problem(request, visit, "Revisa el número del pedido.", 404, title="No existe ese pedido")
        day = stored.order.placed_at.astimezone(zone).strftime("%d/%m/%Y")
        return web.pages.response("ticket.html", c=card(flows, stored), day=day)

    async def live_version(request: Request) -> str:
        orders = await todays_orders(web.desk_of(request).orders, clock(), zone)
        return f"{board_context(flows, orders)['version']}-{await web.hub_of(request).conversations.version()}"

    async def events(request: Request, visit: Visit) -> Response:
        async def stream() -> AsyncIterator[ServerSentEvent]:
            async for version in live.versions(lambda: live_version(request), web.config.poll_seconds, web.log):
                if await request.is_disconnected() or visit.expires <= web.now():
                    return  # an expired sign-in gets no more news: the page's reconnect asks again
                yield ServerSentEvent(data=version, event="cambio", id=version)

        return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return [
        Route("/panel", web.signed_in(board), methods=["GET"]),
        Route("/panel/tablero", web.signed_in(board_part), methods=["GET"]),
        Route("/panel/eventos", web.signed_in(events), methods=["GET"]),
        Route("/panel/pedidos/{number:int}/estado", web.signed_in(change_status), methods=["POST"]),
        Route("/panel/pedidos/{number:int}/ticket", web.signed_in(ticket), methods=["GET"]),
    ]
