"""``GET /health``: the process answers. ``GET /ready``: the flows it serves, and whether the
sessions are in Redis or in the memory fallback (Redis is tried again for the answer)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.http.wiring import services_of


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    services = services_of(request)
    sessions = "redis" if await services.store.probe() else "memory"
    return JSONResponse({"status": "ready", "flows": services.flows.hash, "sessions": sessions})


ROUTES = [
    Route("/health", health, methods=["GET", "HEAD"]),
    Route("/ready", ready, methods=["GET", "HEAD"]),
]
