"""The runtime: ``handle(flows, session, inbound, now) -> Outcome``. Pure: no I/O, no clock.

A turn walks the order flow from the step that was waiting: it reads the customer's answer,
saves it, follows ``next`` through message steps (saying what they say, doing what they do)
and stops at the next question. Anything it cannot read gets a polite re-ask; a broken
template gets an apology for the customer and an error report for the admin, never an
exception.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import TemplateError

from engine.model.effects import (
    ForwardToAdmin,
    HandOver,
    NotifyAdmin,
    Outcome,
    ReportError,
    SaveOrder,
)
from engine.model.inbound import Inbound, Location
from engine.model.order import Order, OrderLine
from engine.model.session import Session
from engine.model.steps import (
    BACK,
    END,
    Branch,
    ChoiceStep,
    ConfirmStep,
    InputStep,
    MessageStep,
    OrderItemStep,
    PhoneStep,
    Step,
    Target,
    TextStep,
)
from engine.runtime import context as ctx
from engine.runtime.flows import Flows
from engine.runtime.order_item import OrderTaking
from engine.runtime.overrides import NO_OVERRIDES, Overrides
from engine.runtime.phones import parse_phone
from engine.runtime.taps import STALE_TAP, read_tap
from engine.runtime.understand import (
    best_matches,
    is_bare_number,
    is_one_of,
    normalise,
    parse_number,
)

MAX_HOPS = 50
"""Steps followed in one turn before giving up (the checks forbid loops without a question)."""
RECENT_KEPT = 3
RECENT_CHARS = 120


def handle(
    flows: Flows, session: Session | None, inbound: Inbound, now: datetime, overrides: Overrides = NO_OVERRIDES
) -> Outcome:
    """Answer one inbound message (``overrides``: what the admin changed by WhatsApp)."""
    epoch = int(now.timestamp())
    current = continue_or_start(flows, session, epoch)
    recent = (*current.recent, inbound.text[:RECENT_CHARS])[-RECENT_KEPT:] if inbound.text else current.recent
    current = current.evolve(last_seen=epoch, recent=recent)
    if current.quiet_until > epoch:
        return Outcome(current, (), (ForwardToAdmin(inbound.customer, inbound.text),))
    tapped = read_tap(flows, current, inbound)  # a tap is read by its id, before any text
    turn = Turn(flows, current, tapped.inbound, now, overrides)
    try:
        if tapped.stale:
            turn.say(STALE_TAP)
            turn.reask(prefix=None)
        else:
            turn.run()
        return turn.outcome()
    except (TemplateError, RecursionError, LookupError, TypeError, ValueError) as error:
        return apologise(flows, current, inbound, error)


def continue_or_start(flows: Flows, session: Session | None, epoch: int) -> Session:
    """The stored session, or a new conversation that keeps a still-valid cart."""
    expired = session is None or epoch - session.last_seen > flows.restaurant.session_minutes * 60
    if session is not None and not expired and (session.step is None or session.step in flows.order.steps):
        return session if session.flows_hash == flows.hash else with_known_items(flows, session)
    kept = with_known_items(flows, session) if session else None
    return Session(
        flows_hash=flows.hash,
        cart=kept.cart if kept else (),
        pending=kept.pending if kept else (),  # a half-answered item is offered back too
        started=epoch,
        quiet_until=kept.quiet_until if kept else 0,
    )


def with_known_items(flows: Flows, session: Session) -> Session:
    """Drop cart lines the (edited) menu no longer has."""
    menu = flows.menu

    def known(line: Any) -> bool:
        return line.item in menu.items and all(
            g in menu.options and menu.options[g].choice(c) for g, c in line.options.items()
        )

    return session.evolve(
        flows_hash=flows.hash,
        cart=tuple(filter(known, session.cart)),
        pending=tuple(filter(known, session.pending)),
    )


def apologise(flows: Flows, session: Session, inbound: Inbound, error: Exception) -> Outcome:
    what = f"{type(error).__name__}: {error}"
    try:
        text = flows.compiled.templates.render("error", {"restaurant": flows.compiled.restaurant_view})
    except (TemplateError, KeyError):
        text = flows.restaurant.language.apology
    # The service tells the admin (throttled, in the flows' own words: ``admin_error``).
    return Outcome(session, (text,), (ReportError(inbound.customer, what),))


class Turn:
    """One inbound message being answered: collects replies and effects, evolves the session."""

    def __init__(self, flows: Flows, session: Session, inbound: Inbound, now: datetime, overrides: Overrides) -> None:
        self.flows = flows
        self.overrides = overrides
        self.session = session
        self.inbound = inbound
        self.now = now
        self.text = inbound.text.strip()
        self.norm = normalise(self.text)
        self.replies: list[str] = []
        self.effects: list[Any] = []
        self.hours = ctx.HoursView(flows, now, overrides)
        self.customer = {
            "phone": inbound.customer,
            "profile_name": inbound.profile_name,
            "recent": list(session.recent),
        }
        self.variables = ctx.TurnContext(flows, self.customer, self.hours, self.text, overrides)
        self.ordering = OrderTaking(self)

    # ------------------------------------------------------------ plumbing

    def outcome(self) -> Outcome:
        return Outcome(self.session, tuple(r for r in self.replies if r), tuple(self.effects))

    def context(self, extras: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.variables.of(self.session, extras)

    def render(self, key: str, extras: dict[str, Any] | None = None) -> str:
        return self.flows.compiled.templates.render(key, self.context(extras))

    def say(self, key: str, extras: dict[str, Any] | None = None) -> None:
        self.replies.append(self.render(key, extras))

    def step(self) -> Step | None:
        return self.flows.order.steps.get(self.session.step or "")

    # ------------------------------------------------------------ the turn

    def run(self) -> None:
        command = self.flows.compiled.commands.get(self.norm)
        new_conversation = self.session.step is None
        if command is not None:
            self.run_command(command, new_conversation)
        elif new_conversation:
            self.enter_start(first_message=True)
        elif self.norm and is_one_of(self.text, self.flows.restaurant.words.greeting):
            self.reask(prefix=None)  # "hola" mid-order: the question again, not "no te entendí"
        else:
            self.answer(self.step())  # type: ignore[arg-type]

    def run_command(self, command: Any, new_conversation: bool) -> None:
        if command.say:
            self.say(command.say)
            if not new_conversation:  # a new one starts with the customer's next message
                self.reask(prefix=None)
            return
        self.session = self.session.evolve(back=self.session.step)
        self.go((Branch(command.go),))

    def enter_start(self, first_message: bool) -> None:
        prompts_before = len(self.replies)
        self.go((Branch(self.flows.order.start),))
        step = self.step()
        if not first_message or not self.ordering.names_an_item():
            return
        # "3 margaritas" as a first message orders right away instead of being answered with a question.
        if isinstance(step, OrderItemStep):
            if len(self.replies) > prompts_before:
                self.replies.pop()  # the step's own question
            self.ordering.take(step)
        else:  # e.g. "¿Retomamos tu pedido?" first: keep what was asked for until the order goes on
            self.session = self.session.evolve(pending=tuple(self.ordering.find_items(self.norm)))

    def reask(self, prefix: str | None = "not_understood", step: InputStep | None = None) -> None:
        step = step or self.step()  # type: ignore[assignment]
        if step is None:
            self.enter_start(first_message=False)
            return
        if prefix:
            self.say(step.retry or prefix, self.step_extras(step))
        if isinstance(step, OrderItemStep) and self.session.pending:
            self.ordering.ask_pending()
        else:
            self.say(step.ask, self.step_extras(step))

    def step_extras(self, step: Step) -> dict[str, Any] | None:
        if isinstance(step, ChoiceStep):
            return {"choices": [{"id": c.id, "name": c.name} for c in step.choices]}
        return None

    # ------------------------------------------------------------ moving between steps

    def resolve(self, target: Target) -> str:
        context = None
        for branch in target:
            if branch.condition is None:
                return branch.go
            context = context or self.context()
            if self.flows.compiled.templates.holds(branch.condition, context):
                return branch.go
        raise ValueError("no branch matched")  # the checks require a default branch

    def go(self, target: Target, from_step: str | None = None) -> None:
        for _ in range(MAX_HOPS):
            step_id = self.resolve(target)
            if step_id == END:
                self.session = self.session.evolve(step=None, answers={}, pending=(), back=None)
                return
            if step_id == BACK:
                back = self.session.back
                if back is None or back not in self.flows.order.steps:
                    target, from_step = (Branch(self.flows.order.start),), None
                    continue
                self.session = self.session.evolve(step=back, back=None)
                if self.session.quiet_until <= self.now.timestamp():  # a person took over: ask nothing
                    self.reask(prefix=None)
                return
            step = self.flows.order.steps[step_id]
            if not isinstance(step, MessageStep):
                if step_id != from_step:  # an order step that loops onto itself just waits
                    self.session = self.session.evolve(step=step_id)
                    if isinstance(step, OrderItemStep) and self.session.pending:
                        self.ordering.settle(step)  # items named earlier come first
                    else:
                        self.say(step.ask, self.step_extras(step))
                return
            if step.say:
                self.say(step.say)
            for action in step.do:
                ACTIONS[action](self)
            target, from_step = step.next, None
        raise RecursionError(f"more than {MAX_HOPS} steps without a question")

    # ------------------------------------------------------------ answers

    def answer(self, step: InputStep) -> None:
        if isinstance(step, OrderItemStep):
            self.ordering.take(step)
        elif isinstance(step, ChoiceStep):
            self.answer_choice(step)
        elif isinstance(step, ConfirmStep):
            self.answer_confirm(step)
        elif isinstance(step, TextStep):
            self.answer_text(step)
        elif isinstance(step, PhoneStep):
            self.answer_phone(step)

    def save(self, name: str | None, value: Any) -> None:
        if name:
            self.session = self.session.evolve(answers={**self.session.answers, name: value})

    def answer_choice(self, step: ChoiceStep) -> None:
        chosen = None
        numbers = self.flows.restaurant.words.numbers
        number = parse_number(self.text, numbers)
        if number is not None and 1 <= number <= len(step.choices) and is_bare_number(self.norm, numbers):
            chosen = step.choices[number - 1]
        else:
            matches = best_matches(self.norm.split(), self.flows.compiled.step_phrases(step))
            if len({m.key for m in matches}) == 1:
                chosen = next(c for c in step.choices if c.id == matches[0].key)
        if chosen is None:
            self.reask()
            return
        self.save(step.save_as, chosen.id)
        self.go(chosen.go or step.next, from_step=step.id)  # type: ignore[arg-type]

    def yes_or_no(self) -> bool | None:
        words = self.flows.restaurant.words
        if is_one_of(self.text, words.yes):
            return True
        if is_one_of(self.text, words.no):
            return False
        tokens = set(self.norm.split())
        said_yes, said_no = bool(tokens & words.yes), bool(tokens & words.no)
        return said_yes if said_yes != said_no else None

    def answer_confirm(self, step: ConfirmStep) -> None:
        answer = self.yes_or_no()
        if answer is None:
            self.reask()
            return
        self.go(step.yes if answer else step.no, from_step=step.id)

    def answer_text(self, step: TextStep) -> None:
        location = self.inbound.location
        if location is not None and "location" in step.accept:
            self.save(step.save_as, location.describe())
            self.save("location", {"latitude": location.latitude, "longitude": location.longitude, "label": location.label})
        elif "text" in step.accept and step.min_length <= len(self.text) <= step.max_length:
            self.save(step.save_as, self.text)
        else:
            self.reask()
            return
        self.go(step.next, from_step=step.id)

    def answer_phone(self, step: PhoneStep) -> None:
        if self.norm in step.same_words:
            number: str | None = self.inbound.customer
        else:
            number = parse_phone(self.text, self.flows.restaurant.country)
        if number is None:
            self.say(step.retry or "phone_invalid")
            return
        self.save(step.save_as, number)
        self.go(step.next, from_step=step.id)

    # ------------------------------------------------------------ built-in actions

    def clear_cart(self) -> None:
        self.session = self.session.evolve(cart=(), pending=())

    def place_order(self) -> None:
        order = self.build_order()
        self.effects.append(SaveOrder(order))
        self.effects.append(NotifyAdmin("order", self.render("admin_new_order")))
        # The next order of this conversation needs a key of its own (customer, started, placed).
        self.session = self.session.evolve(cart=(), pending=(), placed=self.session.placed + 1)

    def handover(self) -> None:
        until = self.now + timedelta(minutes=self.flows.restaurant.handover_minutes)
        self.session = self.session.evolve(quiet_until=int(until.timestamp()))
        self.effects.append(HandOver(self.inbound.customer, until.isoformat(), tuple(self.session.recent)))
        self.effects.append(NotifyAdmin("handover", self.render("admin_handover")))

    def build_order(self) -> Order:
        answers = dict(self.session.answers)
        variables = self.context()  # the cart and the order as the messages saw them
        cart, view = variables["cart"], variables["order"]
        location = answers.pop("location", None)
        address = answers.get("address")
        known = {"name", "contact", "fulfilment", "address", "payment"}
        key_source = f"{self.inbound.customer}|{self.session.started}|{self.session.placed}"
        return Order(
            key=hashlib.sha256(key_source.encode()).hexdigest()[:24],
            customer=self.inbound.customer,
            name=str(answers.get("name") or ""),
            contact=str(answers.get("contact") or self.inbound.customer),
            lines=tuple(
                OrderLine(
                    item_id=line["item"], name=line["name"], quantity=line["quantity"], options=dict(line["choices"]),
                    option_names=tuple(line["options"]), unit_price=line["unit_price"], total=line["total"],
                )
                for line in cart["lines"]
            ),
            subtotal=cart["subtotal"],
            delivery_fee=view["delivery_fee"],
            total=view["total"],
            fulfilment=str(answers.get("fulfilment") or "pickup"),
            address=None if address is None else str(address),
            location=Location(location["latitude"], location["longitude"], location.get("label")) if location else None,
            payment=str(answers.get("payment") or ""),
            placed_at=self.now.astimezone(ZoneInfo(self.flows.hours.timezone)).replace(microsecond=0),
            extra={k: v for k, v in answers.items() if k not in known},
        )


ACTIONS = {
    "clear_cart": Turn.clear_cart,
    "place_order": Turn.place_order,
    "handover": Turn.handover,
}
"""The built-in actions a message step can ``do``."""
