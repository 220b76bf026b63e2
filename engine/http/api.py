"""The restaurant's web front end: ``GET /api/menu`` (public), ``GET /api/orders`` and
``PATCH /api/orders/{number}`` (bearer ``ADMIN_API_TOKEN``). CORS allows ``FRONTEND_URL`` only.

Status changes go through the admin desk, so the customer hears about them exactly as when the
admin uses ``#listo 1042`` on WhatsApp.
"""

from __future__ import annotations

import hmac
from dataclasses import asdict
from typing import Any, Awaitable, Callable

from starlette.datastructures import Secret
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.model.order import STATUSES, StoredOrder
from engine.runtime.flows import Flows
from engine.runtime.overrides import Overrides
from engine.service.admin import AdminDesk

Desk = Callable[[Request], AdminDesk]
LoadOverrides = Callable[[Request], Awaitable[Overrides]]


def cors(frontend_url: str | None) -> list[Middleware]:
    """Only the restaurant's own front end may call the API from a browser."""
    origins = [frontend_url] if frontend_url else []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "PATCH"],
            allow_headers=["Authorization", "Content-Type"],
        )
    ]


def order_json(stored: StoredOrder) -> dict[str, Any]:
    raw = asdict(stored)
    for moment in ("created_at", "updated_at", "placed_at"):
        raw[moment] = getattr(stored, moment).isoformat()
    raw["lines"] = [asdict(line) for line in stored.lines]
    raw.pop("key", None)  # internal: derived from the conversation
    return raw


def api_routes(flows: Flows, token: Secret | None, desk: Desk, overrides: LoadOverrides, clock: Callable[[], Any]) -> list[Route]:
    def authorised(request: Request) -> bool:
        if token is None:
            return False  # no token configured: the orders API stays closed
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), str(token).encode())

    def unauthorised() -> Response:
        return JSONResponse({"error": "unauthorized"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})

    async def menu(request: Request) -> Response:
        current = await overrides(request)
        now = clock()
        view = flows.compiled.menu_view(current)
        return JSONResponse(
            {
                "restaurant": flows.compiled.restaurant_view,
                "open": current.taking_orders(flows.hours, now),
                "categories": view["categories"],
            }
        )

    async def list_orders(request: Request) -> Response:
        if not authorised(request):
            return unauthorised()
        status = request.query_params.get("status")
        if status is not None and status not in STATUSES:
            return JSONResponse({"error": f"status must be one of {', '.join(STATUSES)}"}, status_code=400)
        try:
            limit = min(max(int(request.query_params.get("limit", "50")), 1), 500)
        except ValueError:
            return JSONResponse({"error": "limit must be a number"}, status_code=400)
        orders = await desk(request).orders.list(limit=limit, status=status)
        return JSONResponse({"orders": [order_json(o) for o in orders]})

    async def change_order(request: Request) -> Response:
        if not authorised(request):
            return unauthorised()
        try:
            number = int(request.path_params["number"])
            body = await request.json()
            status = body["status"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'send JSON like {"status": "listo"}'}, status_code=400)
        if status not in STATUSES:
            return JSONResponse({"error": f"status must be one of {', '.join(STATUSES)}"}, status_code=400)
        stored = await desk(request).set_status(number, status)
        if stored is None:
            return JSONResponse({"error": "no such order"}, status_code=404)
        return JSONResponse(order_json(stored))

    return [
        Route("/api/menu", menu, methods=["GET"]),
        Route("/api/orders", list_orders, methods=["GET"]),
        Route("/api/orders/{number:int}", change_order, methods=["PATCH"]),
    ]
