"""Looking at the bot: today in numbers, the order flow as a picture, and the chat preview."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.panel.board import todays_orders
from engine.panel.graph import render_graph, render_svg
from engine.panel.preview import EMPTY, PreviewState, preview_turn
from engine.panel.security import Visit
from engine.panel.stats import day_numbers, hours_chart
from engine.panel.web.common import Web, read_form
from engine.service.admin_overrides import StoredOverrides


def insight_routes(web: Web) -> list[BaseRoute]:
    flows, zone = web.flows, web.zone

    async def today(request: Request, visit: Visit) -> Response:
        now = web.clock()
        numbers = day_numbers(await todays_orders(web.desk_of(request).orders, now, zone), zone)
        tally = web.hub_of(request).tally
        await tally.flush()  # what this instance noted, so the page is up to date for it
        return web.page(request, visit, "today.html", "today", numbers=numbers, chart=hours_chart(numbers.per_hour),
                        funnel=await tally.funnel(tally.day(now.timestamp())),
                        today=now.astimezone(zone).strftime("%d/%m/%Y"), session_minutes=flows.restaurant.session_minutes)

    picture = Markup(render_svg(flows))  # the flows do not change while the server runs
    mermaid, dot = render_graph(flows, "mermaid"), render_graph(flows, "dot")

    async def flow(request: Request, visit: Visit) -> Response:
        return web.page(request, visit, "flow.html", "flow", svg=picture, mermaid=mermaid, dot=dot)

    def preview_page(request: Request, visit: Visit, state: PreviewState, when: datetime) -> Response:
        return web.page(request, visit, "preview.html", "preview", bubbles=state.bubbles, state=state.to_json(),
                        day=when.strftime("%Y-%m-%d"), time=when.strftime("%H:%M"),
                        step=state.session.step if state.session is not None else None)

    async def preview(request: Request, visit: Visit) -> Response:
        return preview_page(request, visit, EMPTY, web.clock().astimezone(zone))

    async def preview_say(request: Request, visit: Visit) -> Response:
        form = await read_form(request)
        when = moment(str(form.get("fecha", "")), str(form.get("hora", "")), zone) or web.clock().astimezone(zone)
        if form.get("reiniciar"):
            return preview_page(request, visit, EMPTY, when)
        state = PreviewState.from_json(str(form.get("estado", "")))
        text = str(form.get("texto", "")).strip()
        tap = str(form.get("tap", "")).strip()  # a button under the bot's message was clicked
        if text or tap:
            overrides = await StoredOverrides(web.hub_of(request).store).load()
            state = preview_turn(flows, state, text, when, overrides, tap=tap or None)
        return preview_page(request, visit, state, when)

    return [
        Route("/panel/hoy", web.signed_in(today), methods=["GET"]),
        Route("/panel/flujo", web.signed_in(flow), methods=["GET"]),
        Route("/panel/probar", web.signed_in(preview), methods=["GET"]),
        Route("/panel/probar", web.signed_in(preview_say), methods=["POST"]),
    ]


def moment(day: str, time: str, zone: ZoneInfo) -> datetime | None:
    """The preview's chosen date and time (None when they do not read as one)."""
    try:
        return datetime.strptime(f"{day} {time}", "%Y-%m-%d %H:%M").replace(tzinfo=zone)
    except ValueError:
        return None
