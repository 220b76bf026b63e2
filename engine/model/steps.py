"""The flows as immutable typed records: what the loader builds once the files passed every check.

One small dataclass per concept and per step kind. Nothing here reads files: see ``loader``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

END = "end"
"""Target that finishes the conversation (the cart is kept; answers are forgotten)."""
BACK = "back"
"""Target that returns to the step a command interrupted."""
SPECIAL_TARGETS = (END, BACK)


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
    intent: str | None = None
    """What the command is for (one of ``languages.INTENTS``): its words and the language's phrases
    for it are then found inside any sentence ("¿me mandas el menú?"); None: only the whole message."""


@dataclass(frozen=True, slots=True)
class Question:
    """Something customers ask, and the message that answers it; the bot then asks its question again."""

    say: str
    """The message with the answer."""
    topic: str | None = None
    """What it is about (one of ``languages.TOPICS``): the language's phrasings recognise it too."""
    words: tuple[str, ...] = ()
    """Phrasings of the flows, normalised: the words of each must all be in the question, in any order."""


@dataclass(frozen=True, slots=True)
class MessageStep:
    """Says something and goes on at once, waiting for nothing."""

    id: str
    next: Target
    say: str | None = None
    do: tuple[str, ...] = ()
    """Built-in actions: ``clear_cart``, ``place_order``, ``handover``, ``opt_out``."""


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
    title: str | None = None
    """The short text of its button or list item (``title:``); None: the name, capitalised."""
    description: str | None = None
    """A line under its title in a list (``description:``); buttons show none."""


@dataclass(frozen=True, slots=True)
class ChoiceStep:
    """One answer among a few, by number or by word."""

    id: str
    ask: str
    choices: tuple[ChoiceOption, ...]
    next: Target | None = None
    save_as: str | None = None
    retry: str | None = None
    buttons: bool = True
    """Offer the choices as WhatsApp buttons or a list (``buttons: false``: numbered text only)."""


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
    buttons: bool = True
    """Offer yes and no as WhatsApp buttons (``buttons: false``: text only)."""
    yes_title: str | None = None
    """The yes button's text (``yes_title:``); None: the language's first word for yes, capitalised."""
    no_title: str | None = None
    """The no button's text (``no_title:``); None: the language's first word for no, capitalised."""


Step = Union[MessageStep, OrderItemStep, ChoiceStep, TextStep, PhoneStep, ConfirmStep]
InputStep = Union[OrderItemStep, ChoiceStep, TextStep, PhoneStep, ConfirmStep]


@dataclass(frozen=True, slots=True)
class OrderFlow:
    start: str
    commands: tuple[Command, ...]
    steps: dict[str, Step]
    questions: tuple[Question, ...] = ()
    """What customers may ask at any moment, with the answers."""


def targets_of(step: Step) -> list[tuple[tuple[str | int, ...], Target]]:
    """Every target of a step with its path inside the step (for error positions)."""
    found: list[tuple[tuple[str | int, ...], Target]] = []
    for name in ("next", "done", "yes", "no"):
        target = getattr(step, name, None)
        if target is not None:
            found.append(((name,), target))
    if isinstance(step, ChoiceStep):
        found.extend((("choices", i, "go"), c.go) for i, c in enumerate(step.choices) if c.go is not None)
    return found


def conditions_of(order: OrderFlow) -> set[str]:
    return {
        branch.condition
        for step in order.steps.values()
        for _, target in targets_of(step)
        for branch in target
        if branch.condition
    }
