"""The flows as immutable typed records: what the loader builds once the files passed every check.

One small dataclass per concept and per step kind. Nothing here reads files: see ``loader``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any, Union

END = "end"
"""Target that finishes the conversation (the cart is kept; answers are forgotten)."""
BACK = "back"
"""Target that returns to the step a command interrupted."""
SPECIAL_TARGETS = (END, BACK)


# ---------------------------------------------------------------- restaurant


@dataclass(frozen=True, slots=True)
class Delivery:
    fee: int
    """Delivery fee in pesos."""
    free_from: int
    """Subtotal from which delivery is free."""
    minimum: int
    """Smallest subtotal (before the fee) accepted for delivery."""


@dataclass(frozen=True, slots=True)
class Words:
    """Words the bot understands, already normalised (lower case, no accents)."""

    yes: frozenset[str]
    no: frozenset[str]
    done: frozenset[str]
    greeting: frozenset[str] = frozenset()
    """"hola" mid-conversation: the bot repeats its question instead of not understanding."""


@dataclass(frozen=True, slots=True)
class Restaurant:
    name: str
    phone: str
    country: str
    """ISO region used to read phone numbers written without a country code."""
    currency: str
    language: str
    delivery: Delivery
    estimated_minutes: dict[str, str]
    """``pickup`` / ``delivery`` -> "25–35"."""
    session_minutes: int
    handover_minutes: int
    words: Words


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


@dataclass(frozen=True, slots=True)
class OptionGroup:
    id: str
    question: str
    choices: tuple[Choice, ...]
    default: str | None = None
    """Choice id used when the customer says nothing; None: always asked."""
    ask: bool = True
    """False: a group with a default is not asked, only understood when typed."""

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
    """ "tacos al pastor": for "¿Cuántos tacos al pastor?" (the name when not given)."""
    feminine: bool = False
    """ "¿Cuántas gringas?" rather than "¿Cuántos...?"."""
    short_name: str = ""
    """How the short menu lists it ("pastor"); the name when not given."""

    def choice_price(self, choice: Choice) -> int:
        return self.option_prices.get(choice.id, choice.price)


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    emoji: str
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Menu:
    max_quantity: int
    options: dict[str, OptionGroup]
    categories: tuple[Category, ...]
    items: dict[str, Item]
    """Every item by id."""


# ---------------------------------------------------------------- hours


@dataclass(frozen=True, slots=True)
class Opening:
    """One service: opens at ``opens`` and closes at ``closes`` (the next day when earlier)."""

    opens: time
    closes: time

    @property
    def crosses_midnight(self) -> bool:
        return self.closes <= self.opens


@dataclass(frozen=True, slots=True)
class Hours:
    timezone: str
    last_orders_minutes: int
    weekly: tuple[Opening | None, ...]
    """Monday first; None: closed all day."""
    special: dict[str, Opening | None]
    """ISO date -> the service that day replaces the weekly one."""


# ---------------------------------------------------------------- order flow


@dataclass(frozen=True, slots=True)
class Branch:
    go: str
    """Step id, ``end`` or ``back``."""
    condition: str | None = None
    """A condition on the conversation (``cart.subtotal < 150``); None: the default branch."""


Target = tuple[Branch, ...]
"""Where to go: the first branch whose condition holds (the last one has none)."""


@dataclass(frozen=True, slots=True)
class Command:
    words: tuple[str, ...]
    say: str | None = None
    """Message to show; the conversation then stays where it was."""
    go: str | None = None
    """Step to jump to; ``back`` from there returns where the customer was."""


@dataclass(frozen=True, slots=True)
class MessageStep:
    """Says something and goes on at once, waiting for nothing."""

    id: str
    next: Target
    say: str | None = None
    do: tuple[str, ...] = ()
    """Built-in actions: ``clear_cart``, ``place_order``, ``handover``."""


@dataclass(frozen=True, slots=True)
class OrderItemStep:
    """Takes items for the cart, asking quantity and options, until the customer is done."""

    id: str
    ask: str
    next: Target
    """After an item is added."""
    done: Target
    """When the customer says they are done (with something in the cart)."""
    retry: str | None = None


@dataclass(frozen=True, slots=True)
class ChoiceOption:
    id: str
    name: str
    words: tuple[str, ...]
    go: Target | None = None


@dataclass(frozen=True, slots=True)
class ChoiceStep:
    """One answer among a few, by number or by word."""

    id: str
    ask: str
    choices: tuple[ChoiceOption, ...]
    next: Target | None = None
    save_as: str | None = None
    retry: str | None = None


@dataclass(frozen=True, slots=True)
class TextStep:
    """Free text (a name, an address), or a location pin where accepted."""

    id: str
    ask: str
    save_as: str
    next: Target
    accept: tuple[str, ...] = ("text",)
    min_length: int = 1
    max_length: int = 300
    retry: str | None = None


@dataclass(frozen=True, slots=True)
class PhoneStep:
    """A phone number, checked; ``same_words`` keep the customer's WhatsApp number."""

    id: str
    ask: str
    save_as: str
    next: Target
    same_words: tuple[str, ...] = ()
    retry: str | None = None


@dataclass(frozen=True, slots=True)
class ConfirmStep:
    """A yes or a no."""

    id: str
    ask: str
    yes: Target
    no: Target
    retry: str | None = None


Step = Union[MessageStep, OrderItemStep, ChoiceStep, TextStep, PhoneStep, ConfirmStep]
InputStep = Union[OrderItemStep, ChoiceStep, TextStep, PhoneStep, ConfirmStep]


@dataclass(frozen=True, slots=True)
class OrderFlow:
    start: str
    commands: tuple[Command, ...]
    steps: dict[str, Step]


# ---------------------------------------------------------------- all of it


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
    compiled: Any = field(default=None, compare=False, repr=False)
    """What the runtime derives once from the above (``engine.compiled.Compiled``)."""
