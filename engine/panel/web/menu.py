"""Menu and hours: sold out or available again, closed or open now, through the admin desk (the
same overrides as ``#agotado`` and ``#cerrar``, read with the next customer message)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.panel.security import Visit
from engine.panel.web.common import Web, read_form
from engine.service.admin_overrides import StoredOverrides


def menu_routes(web: Web) -> list[BaseRoute]:
    flows = web.flows

    async def menu(request: Request, visit: Visit) -> Response:
        overrides = await StoredOverrides(web.hub_of(request).store).load()
        now = web.clock()
        forced = overrides.forced(now)
        categories = [
            {"name": c.name, "emoji": c.emoji,
             "items": [{"id": i.id, "name": i.name, "price": i.price, "available": overrides.available(i)} for i in c.items]}
            for c in flows.menu.categories
        ]
        until = web.local(overrides.until).strftime("%d/%m %H:%M") if forced is not None else ""
        return web.page(request, visit, "menu.html", "menu", categories=categories, forced=forced, forced_until=until,
                        taking_orders=overrides.taking_orders(flows.hours, now))

    async def mark_item(request: Request, visit: Visit) -> Response:
        item_id = str(request.path_params["item"])
        if item_id not in flows.menu.items:
            return web.problem(request, visit, f"No hay «{item_id}» en el menú.", 404)
        available = str((await read_form(request)).get("available", "")) == "1"
        return web.done(request, "/panel/menu", await web.desk_of(request).mark_item(available, item_id))

    async def force_hours(request: Request, visit: Visit) -> Response:
        choice = str((await read_form(request)).get("open", ""))
        if choice not in ("0", "1"):
            return web.problem(request, visit, "Elige abrir o cerrar.")
        return web.done(request, "/panel/menu", await web.desk_of(request).force_hours(choice == "1"))

    return [
        Route("/panel/menu", web.signed_in(menu), methods=["GET"]),
        Route("/panel/menu/{item}", web.signed_in(mark_item), methods=["POST"]),
        Route("/panel/horario", web.signed_in(force_hours), methods=["POST"]),
    ]
