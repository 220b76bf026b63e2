"""The restaurant's web panel at ``/panel``: ``panel_routes`` is its only entry.

Pages (Spanish, server-rendered, every customer's word HTML-escaped): sign-in, the kitchen board
(live through server-sent events), a ticket per order, menu and hours, taken-over conversations,
today in numbers, the order flow as a picture and a chat preview (``engine.panel.web``). Every
change is a POST with the cookie's CSRF token; status changes, sold-out marks and hours go
through the admin desk, so they do exactly what the WhatsApp commands do.
"""

from __future__ import annotations

import logging

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from engine.panel.security import OFF_NOTICE, OPEN_WARNING, PanelConfig
from engine.panel.web.board import board_routes
from engine.panel.web.common import DeskOf, HubOf, PanelDesk, Web
from engine.panel.web.conversations import conversation_routes
from engine.panel.web.insight import insight_routes
from engine.panel.web.menu import menu_routes
from engine.panel.web.signin import signin_routes
from engine.runtime.flows import Flows
from engine.service.clock import Clock

__all__ = ["PanelDesk", "panel_routes"]


def panel_routes(flows: Flows, config: PanelConfig, desk_of: DeskOf, hub_of: HubOf, clock: Clock,
                 log: logging.Logger) -> list[BaseRoute]:
    """The panel's routes (none when it is off: production without ``PANEL_PASSWORD``).

    ``desk_of`` and ``hub_of`` give a request's admin desk (``engine.service.admin.AdminDesk``)
    and panel hub (``engine.panel.hub.PanelHub``), both built in the app's lifespan."""
    if not config.enabled:
        log.info(OFF_NOTICE)
        return []
    if config.open:
        log.warning(OPEN_WARNING)
    web = Web(flows, config, desk_of, hub_of, clock, log)
    return [
        *signin_routes(web),
        *board_routes(web),
        *menu_routes(web),
        *conversation_routes(web),
        *insight_routes(web),
        Mount("/panel/static", app=StaticFiles(packages=[("engine.panel", "static")]), name="panel-static"),
    ]
