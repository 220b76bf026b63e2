"""Messages and conditions as sandboxed Jinja2, compiled once when the flows load.

Undefined variables raise (``StrictUndefined``): validation renders every message with a sample
conversation, so a misspelt variable is caught before a customer could see it. What a customer
typed is only ever passed in as data, never compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.model.restaurant import Money
from engine.runtime.cart import format_money

WHATSAPP_LIMIT = 1600
"""WhatsApp refuses longer messages."""


def money_filter(money: Money) -> Callable[[Any], str]:
    """The ``money`` filter for one restaurant: ``1234`` -> "$1,234" (see ``Money``)."""

    def money_text(value: Any) -> str:
        return format_money(int(value), money)  # a text raises ValueError: the checks report it

    return money_text


def status_filter(statuses: Mapping[str, str]) -> Callable[[Any], str]:
    """The ``status`` filter: a stored status id ("preparando") -> the word shown for it ("preparing")."""

    def status_text(value: Any) -> str:
        return statuses.get(str(value), str(value))

    return status_text


def capitalize(value: Any) -> str:
    """First letter upper case, the rest untouched ("Coca-Cola" stays "Coca-Cola")."""
    text = str(value)
    return text[:1].upper() + text[1:]


class FlowEnvironment(ImmutableSandboxedEnvironment):
    """Sandboxed, and ``category.items`` means the key "items", not the dict's method."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        # A plain dict, not Jinja's ChainMap over the environment's globals: every render copies
        # the globals, and a ChainMap is slow to copy. The globals never change after loading.
        return {**self.globals, **(d or {})}


def make_environment(money: Money = Money(), statuses: Mapping[str, str] | None = None) -> ImmutableSandboxedEnvironment:
    """The templates' environment; ``money`` and ``statuses`` say how the restaurant writes amounts
    and order statuses (the defaults suit checks that only look for mistakes)."""
    env = FlowEnvironment(
        undefined=StrictUndefined,
        autoescape=False,  # WhatsApp text, not HTML
        keep_trailing_newline=False,
        trim_blocks=False,
    )
    env.filters["money"] = money_filter(money)
    env.filters["status"] = status_filter(statuses or {})
    env.filters["capitalize"] = capitalize
    return env


class Templates:
    """Every message of the flows, plus the conditions of the order flow, each compiled the first
    time it is used (a start compiles only the few it needs; the checks, which render every
    message, have compiled them by then when they ran in the same process)."""

    def __init__(
        self, messages: dict[str, str], conditions: set[str], money: Money, statuses: Mapping[str, str]
    ) -> None:
        self.env = make_environment(money, statuses)
        self._sources = messages
        self._known_conditions = conditions
        self._messages: dict[str, Template] = {}
        self._conditions: dict[str, Callable[..., Any]] = {}

    def template(self, key: str) -> Template:
        """The message ``key`` compiled (``KeyError`` for a message the flows do not have,
        ``TemplateSyntaxError`` for one that cannot be read: the checks report it)."""
        template = self._messages.get(key)
        if template is None:
            template = self._messages[key] = self.env.from_string(self._sources[key])
        return template

    def render(self, key: str, context: dict[str, Any]) -> str:
        return self.template(key).render(context).strip()

    def holds(self, condition: str, context: dict[str, Any]) -> bool:
        compiled = self._conditions.get(condition)
        if compiled is None:
            if condition not in self._known_conditions:
                raise KeyError(condition)
            compiled = self._conditions[condition] = self.env.compile_expression(condition)
        return bool(compiled(**context))


def syntax_error(env: ImmutableSandboxedEnvironment, source: str) -> TemplateSyntaxError | None:
    try:
        env.parse(source)
    except TemplateSyntaxError as error:
        return error
    return None


def expression_error(env: ImmutableSandboxedEnvironment, source: str) -> TemplateSyntaxError | None:
    try:
        env.compile_expression(source)
    except TemplateSyntaxError as error:
        return error
    return None
