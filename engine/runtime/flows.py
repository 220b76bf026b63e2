"""The flows the runtime runs: the checked records of the five files (``engine.model``) and what
the runtime derives from them once (``Compiled``). Built by ``engine.loading``; nothing here reads files."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.model.hours import Hours
from engine.model.menu import Menu
from engine.model.restaurant import Restaurant
from engine.model.steps import OrderFlow
from engine.runtime.compiled import Compiled


@dataclass(frozen=True, slots=True)
class Flows:
    """Everything the runtime needs, checked and immutable."""

    restaurant: Restaurant
    menu: Menu
    hours: Hours
    messages: dict[str, str]
    """Message key -> Jinja2 source."""
    order: OrderFlow
    hash: str
    """Identifies this exact set of files (stored in sessions)."""
    compiled: Compiled = field(init=False, compare=False, repr=False)
    """What the runtime derives once from the above: templates, word indexes, views."""

    def __post_init__(self) -> None:
        compiled = Compiled(self.restaurant, self.menu, self.hours, self.messages, self.order)
        object.__setattr__(self, "compiled", compiled)
