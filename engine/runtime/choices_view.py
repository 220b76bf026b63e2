"""What a question offers the customer to tap: nothing, reply buttons or a list, with each option's
id, title and description. Pure: the checks, the Content templates, the sender and the runtime all
read the same decision from here.

A question is a ``choice`` step, a ``confirm`` step (yes or no) or an option group an ``order_item``
step asks about (the tortilla of a taco). Up to ``MAX_BUTTONS`` options go out as reply buttons, up
to ``MAX_LIST_ITEMS`` as a list picker, unless the flows say ``buttons: false``; past that the
question stays numbered text (and ``rinconcito validate`` warns). The message that asks is the
same template either way: the buttons come with it, they do not replace it.

Each option has a stable tap id, ``<step>:<choice>`` (``<step>:<group>:<choice>`` for an option
group), which WhatsApp sends back when the customer taps it. It names the question as well as the
answer, so a tap on an old message can be told apart from an answer to the question asked now.
Step, group and choice ids are ``[a-z][a-z0-9_]*`` (the schemas say so), so ``:`` never occurs in
them. The flows' hash is deliberately not part of the id: choice ids do not change when names do,
so a tap on a message sent before an edit still means what it said, as long as the question is
still the one being asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from engine.model.menu import Choice, Item, OptionGroup
from engine.model.session import Session
from engine.model.steps import ChoiceStep, ConfirmStep, OrderItemStep, Step
from engine.runtime.cart import format_money
from engine.runtime.flows import Flows
from engine.runtime.templates import capitalize

Kind = Literal["none", "buttons", "list"]

# Limits. Twilio's Content types: https://www.twilio.com/docs/content/twilio-quick-reply (body up to
# 1,024 characters; an in-session WhatsApp message without an approved template carries at most 3
# quick-reply buttons) and https://www.twilio.com/docs/content/twiliolist-picker (body up to 1,024
# characters; 1 to 10 items; an item's text up to 24 characters, its id up to 200, its description
# up to 72). WhatsApp's reply button object: https://whatsapp.github.io/WhatsApp-Nodejs-SDK/api-reference/types/ButtonObject
# (a title of at most 20 characters, not empty and unique within the message).
MAX_BUTTONS = 3
"""Reply buttons in one in-session WhatsApp message (twilio/quick-reply)."""
MAX_LIST_ITEMS = 10
"""Items of one list picker (twilio/list-picker)."""
BUTTON_TITLE_LIMIT = 20
"""Characters of a reply button's title (WhatsApp's reply button object)."""
LIST_TITLE_LIMIT = 24
"""Characters of a list item's text (twilio/list-picker ``item``)."""
DESCRIPTION_LIMIT = 72
"""Characters of a list item's description (twilio/list-picker ``description``)."""
BODY_LIMIT = 1024
"""Characters of the text that carries buttons or a list (``body`` of both Content types)."""
TAP_ID_LIMIT = 200
"""Characters of a list item's id (twilio/list-picker ``id``); button ids are kept to it too."""

LIST_BUTTON = {"es": "Ver opciones", "en": "See options"}
"""The text of the button that opens a list, by language (well under WhatsApp's 20 characters)."""
SEPARATOR = ":"
"""Between the parts of a tap id; never inside a step, group or choice id."""


@dataclass(frozen=True, slots=True)
class Option:
    """One thing to tap."""

    tap: str
    """What a tap on it comes back with (Twilio's ``ButtonPayload``, or ``ListId`` for a list)."""
    value: str
    """The option's own id in the flows (``tarjeta``, ``harina``; ``yes``/``no`` for a confirm step)."""
    title: str
    """Its text on the button or list item."""
    description: str = ""
    """A line under the title in a list (empty: none); buttons show none."""
    varies: bool = False
    """The title depends on the conversation: it shows this option's extra price for the item
    asked about ("Harina (+$3)", "Harina (+$15)"). Without an item, ``title`` is its longest form."""


@dataclass(frozen=True, slots=True)
class Offer:
    """What one question offers."""

    key: str
    """The question: its step id, or ``<step>:<group>`` for an option group (the prefix of its tap ids)."""
    step: str
    group: str | None
    """The option group asked about (None: a choice or confirm step)."""
    message: str
    """The message that asks (its text is the body the buttons come with)."""
    kind: Kind
    options: tuple[Option, ...]
    turned_off: bool = False
    """The flows said ``buttons: false``."""
    list_button: str = LIST_BUTTON["es"]
    """The text of the button that opens the list (``kind == "list"``)."""

    @property
    def title_limit(self) -> int:
        return LIST_TITLE_LIMIT if self.kind == "list" else BUTTON_TITLE_LIMIT

    def option_for(self, tap: str) -> Option | None:
        """The option a tap id names, exactly (None: not one of this question's)."""
        return next((option for option in self.options if option.tap == tap), None)


@dataclass(frozen=True, slots=True)
class Tap:
    """A tap id taken apart."""

    step: str
    group: str | None
    value: str

    @property
    def key(self) -> str:
        """The question it answers (``Offer.key``)."""
        return self.step if self.group is None else f"{self.step}{SEPARATOR}{self.group}"


def kind_for(count: int, enabled: bool = True) -> Kind:
    """Buttons for up to ``MAX_BUTTONS`` options, a list for up to ``MAX_LIST_ITEMS``, else nothing."""
    if not enabled or count < 1:
        return "none"
    if count <= MAX_BUTTONS:
        return "buttons"
    if count <= MAX_LIST_ITEMS:
        return "list"
    return "none"


def tap_id(*parts: str) -> str:
    return SEPARATOR.join(parts)


def parse_tap(tap: str) -> Tap | None:
    """``pago:tarjeta`` -> Tap("pago", None, "tarjeta"); ``pedir:tortilla:harina`` -> with a group;
    None for anything else (text a customer typed, a payload of some other sender)."""
    parts = tap.split(SEPARATOR)
    if len(parts) not in (2, 3) or not all(_is_id(part) for part in parts):
        return None
    return Tap(parts[0], parts[1], parts[2]) if len(parts) == 3 else Tap(parts[0], None, parts[1])


def _is_id(text: str) -> bool:
    return bool(text) and text[0].isascii() and text[0].islower() and all(
        ch.isascii() and (ch.islower() or ch.isdigit() or ch == "_") for ch in text
    )


def step_offer(flows: Flows, step: Step) -> Offer | None:
    """What a ``choice`` or ``confirm`` step offers; None for a step that asks no question of that kind."""
    language = flows.restaurant.language
    list_button = LIST_BUTTON.get(language.code, LIST_BUTTON["es"])
    if isinstance(step, ChoiceStep):
        options = tuple(
            Option(tap_id(step.id, c.id), c.id, c.title or capitalize(c.name), c.description or "")
            for c in step.choices
        )
        return Offer(step.id, step.id, None, step.ask, kind_for(len(options), step.buttons), options,
                     turned_off=not step.buttons, list_button=list_button)
    if isinstance(step, ConfirmStep):
        yes = step.yes_title or capitalize(language.yes[0] if language.yes else "yes")
        no = step.no_title or capitalize(language.no[0] if language.no else "no")
        options = (Option(tap_id(step.id, "yes"), "yes", yes), Option(tap_id(step.id, "no"), "no", no))
        return Offer(step.id, step.id, None, step.ask, kind_for(2, step.buttons), options,
                     turned_off=not step.buttons, list_button=list_button)
    return None


OPTION_MESSAGE = "ask_option"
"""The message an order step asks an option group with (``engine.runtime.order_item``)."""


def option_offer(flows: Flows, step_id: str, group: OptionGroup, item: Item | None = None) -> Offer:
    """What asking ``group`` offers in the order step ``step_id``: for ``item`` (its extra prices in
    the titles), or without one with each title in its longest form (for templates and checks)."""
    users: list[Item | None] = [i for i in flows.menu.items.values() if group.id in i.options] or [None]
    options = []
    for choice in group.choices:
        forms = {_priced_title(flows, choice, product) for product in users}
        varies = len(forms) > 1
        title = _priced_title(flows, choice, item) if item is not None else max(sorted(forms), key=len)
        options.append(Option(tap_id(step_id, group.id, choice.id), choice.id, title, choice.description or "", varies))
    language = flows.restaurant.language
    return Offer(
        tap_id(step_id, group.id), step_id, group.id, OPTION_MESSAGE, kind_for(len(options), group.buttons),
        tuple(options), turned_off=not group.buttons, list_button=LIST_BUTTON.get(language.code, LIST_BUTTON["es"]),
    )


def _priced_title(flows: Flows, choice: Choice, item: Item | None) -> str:
    title = choice.title or capitalize(choice.name)
    price = item.choice_price(choice) if item is not None else choice.price
    return f"{title} (+{format_money(price, flows.restaurant.money)})" if price else title


def asked(group: OptionGroup) -> bool:
    """Whether an order step asks about ``group`` (as ``order_item`` decides: unless ``ask: false``
    with a default to fall back on)."""
    return group.ask or group.default is None


def asked_groups(flows: Flows) -> list[OptionGroup]:
    """The option groups an order step asks about: used by some item, and asked."""
    used = {group_id for item in flows.menu.items.values() for group_id in item.options}
    return [group for group in flows.menu.options.values() if asked(group) and group.id in used]


def offers(flows: Flows) -> tuple[Offer, ...]:
    """Every question of the flows and what it offers (``kind == "none"`` included), in the order
    of the steps; an order step's option groups follow it."""
    found: list[Offer] = []
    for step in flows.order.steps.values():
        offer = step_offer(flows, step)
        if offer is not None:
            found.append(offer)
        elif isinstance(step, OrderItemStep):
            found.extend(option_offer(flows, step.id, group) for group in asked_groups(flows))
    return tuple(found)


def offer_for(flows: Flows, key: str, item: Item | None = None) -> Offer | None:
    """The offer of the question ``key`` (``Offer.key``), for ``item`` when it is an option group."""
    step_id, _, group_id = key.partition(SEPARATOR)
    step = flows.order.steps.get(step_id)
    if step is None:
        return None
    if not group_id:
        return step_offer(flows, step)
    group = flows.menu.options.get(group_id)
    if not isinstance(step, OrderItemStep) or group is None:
        return None
    return option_offer(flows, step_id, group, item)


def offer_waiting(flows: Flows, session: Session) -> Offer | None:
    """The question ``session`` waits on an answer to, and what it offers (None: it waits on no
    question with options, e.g. a name, an address, or items to order).

    After a turn this is the question the bot just asked: the offer to send its buttons with.
    When a tap arrives it is the question the tap must answer; a tap of another question (an
    old message's) answers nothing."""
    step = flows.order.steps.get(session.step or "")
    if step is None:
        return None
    if not isinstance(step, OrderItemStep):
        return step_offer(flows, step)
    if not session.pending or session.pending[0].quantity is None:
        return None
    line = session.pending[0]
    item = flows.menu.items.get(line.item)
    if item is None:
        return None
    for group_id in item.options:  # the first option still missing, as order_item asks them
        group = flows.menu.options.get(group_id)
        if group is not None and group_id not in line.options and asked(group):
            return option_offer(flows, step.id, group, item)
    return None
