"""The variables a message or a condition can use, for a real turn and for validation.

``NAMES`` is the contract with the people who write messages: every template sees these; a few
built-in messages also see ``EXTRAS`` (the item being asked about, the line just added...).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from engine.model.effects import ORDER_NUMBER_SLOT
from engine.model.order import STATUSES, Order, OrderLine, StoredOrder, describe_line
from engine.model.order import order_view as stored_order_view
from engine.model.session import Line, Session
from engine.runtime import cart as carts
from engine.runtime.flows import Flows
from engine.runtime.hours import (
    current_service,
    describe_opening,
    last_order,
    next_opening,
    service_on,
)
from engine.runtime.overrides import NO_OVERRIDES, Overrides
from engine.runtime.views import answer_item_view, item_view

NAMES = ("restaurant", "menu", "cart", "order", "customer", "open", "next_opening", "max_quantity", "text", "hours",
         "step")
"""Variables every message and condition can use."""

EXTRAS: dict[str, tuple[str, ...]] = {
    "ask_quantity": ("item",),
    "ask_option": ("item", "option", "choices", "quantity"),
    "item_added": ("line",),
    "item_removed": ("item",),
    "item_unknown": ("suggestions",),
    "item_changed": ("line", "was"),
    "item_queued": ("item",),
    "lines_added": ("lines",),
    "which_item": ("items", "quantity"),
    "which_line": ("lines",),
    "not_in_cart": (),
    "media_received": (),
    "answer_unknown": (),
    "item_sold_out": ("item",),
    "too_many": ("item", "quantity"),
    # The admin's messages and what the service tells customers outside a conversation.
    "order_status": ("order",),
    "admin_help": (),
    "admin_unknown": ("text",),
    "admin_orders": ("orders",),
    "admin_order": ("order",),
    "admin_order_not_found": ("number",),
    "admin_status_changed": ("order",),
    "admin_hours": ("open", "until"),
    "admin_item_marked": ("item", "available"),
    "admin_item_unknown": ("text", "suggestions"),
    "admin_bad_number": ("text",),
    "admin_takeover": ("customer", "taken", "minutes"),
    "admin_forward": ("customer", "text"),
    "admin_reply": ("customer", "sent"),
    "admin_error": ("customer", "what", "held_back"),
    "order_saved_later": (),
    "stale_tap": (),
    "error": (),
    "rate_limited": (),
}
"""Built-in messages and the extra variables they get."""

SERVICE_MESSAGES = frozenset(key for key in EXTRAS if key.startswith("admin_")) | {
    "order_status", "order_saved_later", "error", "rate_limited",
}
"""Said outside a conversation: they see ``restaurant`` and their extras only."""

CHOICE_EXTRAS = ("choices",)
"""What the question and re-ask of a ``choice`` step get."""

QUESTION_EXTRAS = ("items", "choices")
"""What the answer to a question of the flows gets: the items and option choices it names."""

ORDER_FIELDS = ("name", "contact", "fulfilment", "address", "location", "payment")
"""Answers every order has (None until given); a flow may save more."""
SAMPLE_PHONE = "+" + "9" * 15
"""A phone number as long as E.164 allows, for the sample values that measure messages."""


class HoursView:
    """Open/next opening, computed once per turn and only when a message asks."""

    def __init__(self, flows: Flows, now: datetime, overrides: Overrides = NO_OVERRIDES) -> None:
        self.flows, self.now, self.overrides = flows, now, overrides
        self._open: bool | None = None
        self._next_opening: str | None = None

    @property
    def open(self) -> bool:
        if self._open is None:
            forced = self.overrides.forced(self.now)
            self._open = self.flows.compiled.schedule.taking_orders(self.now) if forced is None else forced
        return self._open

    def next_opening(self) -> str:
        if self._next_opening is None:
            self._next_opening = self._describe_next_opening()
        return self._next_opening

    def _describe_next_opening(self) -> str:
        when = next_opening(self.flows.hours, self.now)
        if self.overrides.forced_open is False and when is not None and when.timestamp() < self.overrides.until:
            when = next_opening(self.flows.hours, datetime.fromtimestamp(self.overrides.until, when.tzinfo))
        return describe_opening(when, self.now, self.flows.restaurant.language)


class HoursTable:
    """The opening hours as messages see them (``hours``): ``today`` and the ``week``, worked out
    only when a message uses them."""

    def __init__(self, flows: Flows, now: datetime) -> None:
        self._flows, self._now = flows, now
        self._today: dict[str, str] | None | bool = False

    @property
    def today(self) -> dict[str, str] | None:
        """Today's service (``opens``, ``closes``, ``last_order``), None when closed all day."""
        if self._today is False:
            hours, language = self._flows.hours, self._flows.restaurant.language
            try:
                local = self._now.astimezone(ZoneInfo(hours.timezone))
                service = current_service(hours, self._now) or service_on(hours, local.date())
            except (KeyError, ValueError):  # a time zone the checks report on their own
                service = None
            self._today = None if service is None else {
                "opens": language.clock_text(service.opens.hour, service.opens.minute),
                "closes": language.clock_text(service.closes.hour, service.closes.minute),
                "last_order": language.clock_text(last_order(hours, service).hour, last_order(hours, service).minute),
            }
        return self._today  # type: ignore[return-value]

    @property
    def week(self) -> list[dict[str, Any]]:
        """Monday first: ``day`` (its name), ``closed``, ``opens``, ``closes``."""
        return self._flows.compiled.week


def order_view(flows: Flows, answers: dict[str, Any], cart: dict[str, Any]) -> dict[str, Any]:
    order: dict[str, Any] = {name: None for name in ORDER_FIELDS}
    order.update({f"{name}_name": None for name in ORDER_FIELDS})
    order.update(answers)
    if order["fulfilment"] != "delivery":
        order["address"] = None  # switched to pickup: the address stays known but is not this order's
    for save_as, names in flows.compiled.answer_names.items():
        answer = answers.get(save_as)
        order[f"{save_as}_name"] = names.get(answer, answer) if isinstance(answer, str) else answer
    fee = carts.delivery_fee(flows.restaurant, cart["subtotal"], order["fulfilment"])
    order.update(
        subtotal=cart["subtotal"],
        delivery_fee=fee,
        total=cart["subtotal"] + fee,
        number=ORDER_NUMBER_SLOT,
        eta=flows.restaurant.estimated_minutes.get(order["fulfilment"] or "", ""),
    )
    return order


def build_context(
    flows: Flows,
    session: Session,
    customer: dict[str, Any],
    hours: HoursView,
    text: str,
    extras: dict[str, Any] | None = None,
    overrides: Overrides = NO_OVERRIDES,
) -> dict[str, Any]:
    cart = flows.compiled.cart_view(session.cart)
    if session.pending:  # the lines still being asked about count too ("cancelar" mid-question)
        cart = {**cart, "pending": len(session.pending)}
    context = {
        "restaurant": flows.compiled.restaurant_view,
        "menu": flows.compiled.menu_view(overrides),
        "cart": cart,
        "order": order_view(flows, session.answers, cart),
        "customer": customer,
        "open": hours.open,
        "next_opening": hours.next_opening() if not hours.open else "",
        "max_quantity": flows.menu.max_quantity,
        "text": text,
        "hours": HoursTable(flows, hours.now),
        "step": session.step or "",
    }
    if extras:
        context.update(extras)
    return context


class TurnContext:
    """The variables of one turn, built once and rebuilt only when the cart or the answers change.

    A turn renders several messages and conditions; only the session changes between them, and
    only its cart and answers show in the variables (as ``cart`` and ``order``). Sessions are
    immutable and ``evolve`` keeps the objects it is not given, so identity tells what changed.
    """

    def __init__(
        self, flows: Flows, customer: dict[str, Any], hours: HoursView, text: str, overrides: Overrides = NO_OVERRIDES
    ) -> None:
        self.flows, self.customer, self.hours, self.text, self.overrides = flows, customer, hours, text, overrides
        self._cart: tuple[Line, ...] | None = None
        self._answers: dict[str, Any] | None = None
        self._pending: tuple[Line, ...] | None = None
        self._step: str | None = None
        self._variables: dict[str, Any] = {}

    def of(self, session: Session, extras: dict[str, Any] | None = None) -> dict[str, Any]:
        """The variables for ``session`` (never modified by templates: the sandbox is immutable)."""
        if (session.cart is not self._cart or session.answers is not self._answers
                or session.pending is not self._pending or session.step != self._step):
            self._variables = build_context(
                self.flows, session, self.customer, self.hours, self.text, None, self.overrides
            )
            self._cart, self._answers, self._pending, self._step = session.cart, session.answers, session.pending, session.step
        return {**self._variables, **extras} if extras else self._variables


def sample_session(flows: Flows) -> Session:
    """A long order: every item of the menu, every answer given (the worst case for length)."""
    lines = tuple(
        Line(
            item.id,
            flows.menu.max_quantity,
            {g: flows.menu.options[g].choices[-1].id for g in item.options if g in flows.menu.options},
        )
        for item in flows.menu.items.values()
    )
    answers: dict[str, Any] = {name: "x" * 40 for name in ORDER_FIELDS}
    answers["fulfilment"] = "delivery"
    for step in flows.order.steps.values():
        save_as = getattr(step, "save_as", None)
        if save_as and save_as not in answers:
            answers[save_as] = "x" * 40
    order_step = flows.compiled.order_step  # messages are checked as the order step says them
    return Session(flows_hash=flows.hash, step=order_step.id if order_step else None, cart=lines, answers=answers)


def sample_extras(flows: Flows) -> dict[str, Any]:
    menu = flows.menu
    item = next(iter(menu.items.values()))
    group = next(iter(menu.options.values()), None)
    line = sample_session(flows).cart[0]
    return {
        "item": item_view(item),
        "option": {"id": group.id, "question": group.question} if group else {"id": "", "question": ""},
        "choices": [{"id": c.id, "name": c.name, "price": c.price} for c in (group.choices if group else ())],
        "line": carts.line_view(menu, line),
        "quantity": menu.max_quantity + 1,
        "suggestions": [item.name, item.name],
        "was": describe_line(menu.max_quantity, item.name, ["x" * 12]),
        "lines": [carts.line_view(menu, line) for line in sample_session(flows).cart],
        "items": [answer_item_view(menu, i) for i in menu.items.values()],
    }


def sample_stored_order(flows: Flows) -> StoredOrder:
    """A long order as the store gives it back: every item of the menu, long names and a long
    address, so a message that shows an order is checked at its longest."""
    placed = datetime(2026, 12, 31, 23, 59, tzinfo=timezone.utc)
    lines = tuple(OrderLine(item.id, item.name, 50, {}, ("x" * 12,), 100, 5000) for item in flows.menu.items.values())
    order = Order(
        key="sample", customer=SAMPLE_PHONE, name="x" * 40, contact=SAMPLE_PHONE, lines=lines, subtotal=99999,
        delivery_fee=30, total=99999, fulfilment="x" * 20, address="x" * 120, location=None, payment="x" * 20,
        placed_at=placed,
    )
    return StoredOrder(order, 10420, STATUSES[1], placed, placed)


def sample_service_extras(flows: Flows) -> dict[str, Any]:
    """Long sample values for the messages said outside a conversation: the ``order`` is what the
    admin's messages get (``engine.model.order.order_view``) for a long order."""
    # In UTC: the flows' time zone may be the very mistake being reported; the texts are as long.
    order = stored_order_view(sample_stored_order(flows), flows.compiled.answer_names, timezone.utc)
    first = next(iter(flows.menu.items.values()))
    return {
        "order": order, "orders": [dict(order, lines=[])] * 15, "number": "10420", "open": True,
        "until": "31/12 23:59", "item": {"id": first.id, "name": first.name}, "available": True, "text": "x" * 80,
        "suggestions": [first.name, first.name], "customer": SAMPLE_PHONE, "taken": True, "minutes": 60, "sent": True,
        "what": "x" * 200, "held_back": 99,
    }


def sample_customer() -> dict[str, Any]:
    return {"phone": SAMPLE_PHONE, "profile_name": "X" * 25, "recent": ["x" * 100] * 3}
