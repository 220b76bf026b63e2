"""Rendering the panel's pages: Jinja2 templates shipped in the package, HTML-escaped always."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

from engine.model.restaurant import Money
from engine.panel.security import SECURITY_HEADERS
from engine.runtime.templates import capitalize, money_filter

STATIC = "/panel/static"


def environment(money: Money) -> Environment:
    env = Environment(
        loader=PackageLoader("engine.panel", "templates"),
        autoescape=select_autoescape(["html", "svg"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = money_filter(money)
    env.filters["capitalize"] = capitalize
    return env


class Pages:
    def __init__(self, restaurant: str, money: Money) -> None:
        self._env = environment(money)
        self._restaurant = restaurant

    def render(self, name: str, **context: Any) -> str:
        return self._env.get_template(name).render(restaurant=self._restaurant, static=STATIC, **context)

    def response(self, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.render(name, **context), status_code=status_code, headers=SECURITY_HEADERS)
