"""The WhatsApp webhook service: the Starlette app ``create_app`` builds (``engine.http.serve`` runs it).

Routes: ``POST /webhook`` (``engine.http.webhook``), ``POST /twilio/status`` (``engine.http.status``),
``GET /health`` and ``GET /ready`` (``engine.http.health``), the restaurant's web API under ``/api``
(``engine.http.api``), the web panel under ``/panel`` (``engine.panel``). The app
holds no global state: its ``Services`` (``engine.http.wiring``) are opened in the lifespan,
closed with it, and read by every route from its request.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from engine.http import api, health, status, webhook
from engine.http.settings import Settings
from engine.http.wiring import SERVICES, Given, Services, open_services, services_of
from engine.logs import LOGGER
from engine.panel.routes import panel_routes
from engine.panel.security import panel_config
from engine.runtime.flows import Flows
from engine.service.clock import real_clock


def create_app(settings: Settings, flows: Flows, given: Given = Given()) -> Starlette:
    """The service for ``flows`` (loaded by ``engine.loading.pipeline.load_flows``); ``given``:
    parts to use instead of the ones the settings describe."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Mapping[str, Services]]:
        async with open_services(settings, flows, given) as services:
            yield {SERVICES: services}

    return Starlette(
        routes=[
            *webhook.ROUTES,
            *status.ROUTES,
            *health.ROUTES,
            *api.api_routes(settings.frontend_url),
            *panel_routes(flows, panel_config(settings.panel_password, settings.panel_secret, settings.production),
                          lambda request: services_of(request).desk, lambda request: services_of(request).panel,
                          given.clock or real_clock(flows.hours.timezone), given.log or logging.getLogger(LOGGER)),
        ],
        lifespan=lifespan,
    )
