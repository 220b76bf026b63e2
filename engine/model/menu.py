"""The flows as immutable typed records: what the loader builds once the files passed every check.

One small dataclass per concept and per step kind. Nothing here reads files: see ``loader``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# ---------------------------------------------------------------- menu


@dataclass(frozen=True, slots=True)
class Choice:
    id: str
    name: str
    """As the customer sees it."""
    price: int = 0
    """Added to the unit price (per item) when chosen."""
    words: tuple[str, ...] = ()
    """Normalised words that select this choice."""
    title: str | None = None
    """The short text of its button or list item (``title:``); None: the name, capitalised."""
    description: str | None = None
    """A line under its title in a list (``description:``); buttons show none."""


@dataclass(frozen=True, slots=True)
class OptionGroup:
    id: str
    question: str
    choices: tuple[Choice, ...]
    default: str | None = None
    """Choice id used when the customer says nothing; None: always asked."""
    ask: bool = True
    """False: a group with a default is not asked, only understood when typed."""
    buttons: bool = True
    """Offer the choices as WhatsApp buttons or a list when asked (``buttons: false``: numbered text only)."""

    def choice(self, choice_id: str) -> Choice | None:
        return next((c for c in self.choices if c.id == choice_id), None)


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    name: str
    price: int
    category: str
    aliases: tuple[str, ...] = ()
    description: str | None = None
    options: tuple[str, ...] = ()
    """Option group ids, asked in this order."""
    option_prices: dict[str, int] = field(default_factory=dict)
    """Choice id -> price for this item, replacing the choice's own price."""
    available: bool = True
    plural: str = ""
    """ "hamburguesas dobles": for "¿Cuántas hamburguesas dobles?" (the name when not given)."""
    feminine: bool = False
    """ "¿Cuántas empanadas?" rather than "¿Cuántos...?"."""
    short_name: str = ""
    """How the short menu lists it ("doble"); the name when not given."""

    def choice_price(self, choice: Choice) -> int:
        return self.option_prices.get(choice.id, choice.price)


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    emoji: str
    items: tuple[Item, ...]
    words: tuple[str, ...] = ()
    """Normalised words that name the whole category ("algo de tomar"): the bot asks which item."""


@dataclass(frozen=True, slots=True)
class Menu:
    max_quantity: int
    options: dict[str, OptionGroup]
    categories: tuple[Category, ...]
    items: dict[str, Item]
    """Every item by id."""
    common_words: frozenset[str] = frozenset()
    """Normalised words many item names share ("pizza"): a customer need not type them."""
