"""The restaurant's web front end: ``GET /api/menu`` (public), ``GET /api/orders`` and
``PATCH /api/orders/{number}`` (bearer ``ADMIN_API_TOKEN``). CORS allows ``FRONTEND_URL`` only.

An order is shown as ``engine.model.order.order_view`` shows it, as in the admin's messages.
Status changes go through the admin desk, so the customer hears about them exactly as when the
admin uses ``#listo 1042`` on WhatsApp.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Secret
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from engine.http.wiring import services_of
from engine.model.order import STATUSES

LIMITS = (1, 500)
"""The fewest and most orders one ``GET /api/orders`` returns (50 unless ``limit`` says)."""


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


def authorised(request: Request, token: Secret | None) -> bool:
    if token is None:
        return False  # no token configured: the orders API stays closed
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), str(token).encode())


def unauthorised() -> Response:
    return JSONResponse({"error": "unauthorized"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


def bad_status() -> Response:
    return JSONResponse({"error": f"status must be one of {', '.join(STATUSES)}"}, status_code=400)


async def menu(request: Request) -> Response:
    services = services_of(request)
    flows = services.flows
    current = await services.overrides.load()
    return JSONResponse(
        {
            "restaurant": flows.compiled.restaurant_view,
            "open": current.taking_orders(flows.hours, services.clock()),
            "categories": flows.compiled.menu_view(current)["categories"],
        }
    )


async def list_orders(request: Request) -> Response:
    services = services_of(request)
    if not authorised(request, services.settings.admin_api_token):
        return unauthorised()
    status = request.query_params.get("status")
    if status is not None and status not in STATUSES:
        return bad_status()
    try:
        limit = min(max(int(request.query_params.get("limit", "50")), LIMITS[0]), LIMITS[1])
    except ValueError:
        return JSONResponse({"error": "limit must be a number"}, status_code=400)
    orders = await services.orders.list(limit=limit, status=status)
    return JSONResponse({"orders": [services.desk.view(order) for order in orders]})


async def change_order(request: Request) -> Response:
    services = services_of(request)
    if not authorised(request, services.settings.admin_api_token):
        return unauthorised()
    try:
        number = int(request.path_params["number"])
        body = await request.json()
        status = body["status"]
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": 'send JSON like {"status": "listo"}'}, status_code=400)
    if status not in STATUSES:
        return bad_status()
    stored = await services.desk.set_status(number, status)
    if stored is None:
        return JSONResponse({"error": "no such order"}, status_code=404)
    return JSONResponse(services.desk.view(stored))


def api_routes(frontend_url: str | None) -> list[BaseRoute]:
    """The API under ``/api``, with CORS for ``frontend_url`` there only: the webhook and the panel
    are never called across origins, and a middleware around the whole app would cost every
    webhook message its wrapping."""
    return [
        Mount("/api", routes=[
            Route("/menu", menu, methods=["GET"]),
            Route("/orders", list_orders, methods=["GET"]),
            Route("/orders/{number:int}", change_order, methods=["PATCH"]),
        ], middleware=cors(frontend_url)),
    ]
