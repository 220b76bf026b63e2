"""The runtime: ``handle(flows, session, inbound, now) -> Outcome``. Pure: no I/O, no clock.

A turn reads the customer's message once (``engine.runtime.reading``) into acts, whatever the
step: commands and questions are answered first, then the step that was waiting gets the rest
and decides what they mean there; the turn saves the answers, follows ``next`` through message
steps (saying what they say, doing what they do) and stops at the next question. Answers given
before their question are kept and their steps passed over. Anything it cannot read gets a
polite re-ask; a broken template gets an apology for the customer and an error report for the
admin, never an exception.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import TemplateError

from engine.model.effects import (
    ForwardToAdmin,
    HandOver,
    NotifyAdmin,
    OptIn,
    OptOut,
    Outcome,
    ReportError,
    SaveOrder,
)
from engine.model.inbound import Inbound, Location
from engine.model.order import Order, OrderLine
from engine.model.session import Line, Session
from engine.model.steps import (
    BACK,
    END,
    Branch,
    ChoiceStep,
    Command,
    ConfirmStep,
    InputStep,
    MessageStep,
    OrderItemStep,
    PhoneStep,
    Step,
    Target,
    TextStep,
)
from engine.runtime import acts as a
from engine.runtime import answers
from engine.runtime import context as ctx
from engine.runtime.flows import Flows
from engine.runtime.order_item import OrderTaking
from engine.runtime.overrides import NO_OVERRIDES, Overrides
from engine.runtime.phones import parse_phone
from engine.runtime.reading import read
from engine.runtime.taps import STALE_TAP, read_tap
from engine.runtime.understand import normalise

MAX_HOPS = 50
"""Steps followed in one turn before giving up (the checks forbid loops without a question)."""
RECENT_KEPT = 3
RECENT_CHARS = 120
CHANGES = (a.AddLine, a.Unsure, a.Remove, a.Replace, a.SetQuantity, a.More)
"""Acts that change the cart."""


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
        which=None,
        last=None,
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
        self.reading = read(flows.compiled.lexicon, self.text)
        self.acts: list[a.Act] = list(self.reading.acts)
        """What the message says that the turn has not used yet."""
        self.answered = False
        """Something was said already this turn (an answer, the menu): a re-ask then needs no apology."""
        self.carry: list[a.Act] = []
        """Acts for the step the turn moves to ("no, cambia el pago": the payment, once at "¿Qué cambiamos?")."""
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
        new_conversation = self.session.step is None
        if self.inbound.media and not self.text and self.inbound.location is None:
            self.media(new_conversation)
            return
        commands = self.commands_found()
        if self.inbound.opted_out and not any(c.intent == "opt_out" for c in commands):
            self.effects.append(OptIn(self.inbound.customer))  # they write again: they may be written to
        going = next((c for c in commands if c.go), None)
        if going is not None:
            self.session = self.session.evolve(back=self.session.step)
            self.go((Branch(going.go),))  # type: ignore[arg-type]
            return
        says = [c for c in commands if c.say]
        questions = self.reading.of(a.Asked)
        self.acts = [x for x in self.acts if not isinstance(x, (a.Intent, a.Asked)) or self.engine_intent(x)]
        if new_conversation:
            if says and not questions and not self.acts and not self.reading.greeting:
                for command in says:  # "menú" as a first message: the menu, and the next message starts
                    self.say(command.say)  # type: ignore[arg-type]
                return
            self.start(says, questions)
            return
        if self.reading.greeting and not says and not questions and not self.acts:
            self.reask(prefix=None)  # "hola" mid-order: the question again, not "no te entendí"
            return
        self.tell(says, questions)
        self.continue_at(self.step())

    def commands_found(self) -> list[Command]:
        """The flows' commands the message asks for: the whole message, or inside a sentence."""
        whole = self.flows.compiled.commands.get(self.norm)
        found = [whole] if whole is not None else []
        for intent in self.reading.of(a.Intent):
            assert isinstance(intent, a.Intent)
            if intent.command is not None:
                command = self.flows.order.commands[intent.command]
                if command not in found:
                    found.append(command)
        return found

    def engine_intent(self, act: a.Act) -> bool:
        """Intents the steps read themselves (``done``, "no sé", "espérame"…): those no command of the
        flows says or leads anywhere for."""
        if not isinstance(act, a.Intent):
            return False
        if act.command is None:
            return True
        command = self.flows.order.commands[act.command]
        return command.say is None and command.go is None

    def start(self, says: list[Command], questions: list[a.Act]) -> None:
        """The first message of a conversation: the welcome, then whatever the message already says."""
        prompts_before = len(self.replies)
        self.go((Branch(self.flows.order.start),))
        step = self.step()
        meaningful = [x for x in self.acts if not isinstance(x, a.Intent) or x.name not in ("start", "unsure")]
        if step is None:
            self.tell(says, questions)  # closed: "¿a qué hora abren?" still gets its answer
            return
        if not isinstance(step, OrderItemStep):
            if self.reading.has(a.AddLine):
                # e.g. "¿Retomamos tu pedido?" first: keep what was asked for until the order goes on
                named = tuple(Line(x.item, x.quantity, dict(x.options)) for x in self.reading.acts if isinstance(x, a.AddLine))
                self.session = self.session.evolve(pending=self.session.pending + named)
            return
        if not (says or questions or meaningful):
            return
        if len(self.replies) > prompts_before:
            self.replies.pop()  # the step's own question: what comes next asks its own
        self.tell(says, questions)
        self.continue_at(step)

    def tell(self, says: list[Command], questions: list[a.Act]) -> None:
        """Messages of commands ("menú") and answers to questions, before the step goes on."""
        for command in says:
            self.say(command.say)  # type: ignore[arg-type]
            self.answered = True
        for question in questions:
            assert isinstance(question, a.Asked)
            answers.answer(self, question)
            self.answered = True

    def continue_at(self, step: Step | None) -> None:
        if step is None:
            self.enter_start()
            return
        if isinstance(step, MessageStep):
            self.go((Branch(step.id),))
            return
        more = next((x for x in self.acts if isinstance(x, a.Intent) and x.name == "more"), None)
        # "agregar más" at a question that has it among its answers ("¿Agregar algo o recoger?") is that answer
        mine = any(s == step.id for x in self.acts if isinstance(x, a.StepChoice) for s, _ in x.options)
        if more is not None and not isinstance(step, OrderItemStep) and not mine:
            self.to_ordering()
            return
        self.answer(step)

    def media(self, new_conversation: bool) -> None:
        """A photo, a voice note or a sticker without words: the bot reads text only."""
        if self.inbound.opted_out:
            self.effects.append(OptIn(self.inbound.customer))
        if new_conversation:
            self.go((Branch(self.flows.order.start),))
            if self.replies and self.step() is not None:  # before the question the welcome ends with
                self.replies.insert(len(self.replies) - 1, self.render("media_received"))
            return
        self.say("media_received")
        self.reask(prefix=None)

    def enter_start(self) -> None:
        self.go((Branch(self.flows.order.start),))

    def reask(self, prefix: str | None = "not_understood", step: InputStep | None = None) -> None:
        step = step or self.step()  # type: ignore[assignment]
        if step is None:
            self.enter_start()
            return
        if prefix and not self.answered:
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
                self.session = self.session.evolve(step=None, answers={}, pending=(), back=None, ahead=(),
                                                   which=None, finishing=False)
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
                if step_id == from_step:
                    return  # an order step that loops onto itself just waits
                passed = self.passed_over(step)
                if passed is not None:
                    target, from_step = passed, step_id
                    continue
                self.session = self.session.evolve(step=step_id)
                if isinstance(step, ConfirmStep):
                    self.session = self.session.evolve(ahead=())
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

    def passed_over(self, step: InputStep) -> Target | None:
        """Where a step answered ahead of its question leads (None: ask it)."""
        save_as = getattr(step, "save_as", None)
        if isinstance(step, ChoiceStep):
            carried = self.carried_choice(step)
            if carried is not None:
                return carried
        if not save_as or save_as not in self.session.ahead or save_as not in self.session.answers:
            return None
        value = self.session.answers[save_as]
        ahead = tuple(name for name in self.session.ahead if name != save_as)
        if isinstance(step, ChoiceStep):
            chosen = next((c for c in step.choices if c.id == value), None)
            if chosen is None:
                return None
            self.session = self.session.evolve(ahead=ahead)
            return chosen.go or step.next
        if isinstance(step, (TextStep, PhoneStep)):
            self.session = self.session.evolve(ahead=ahead)
            return step.next
        return None

    def carried_choice(self, step: ChoiceStep) -> Target | None:
        for act in self.carry:
            if isinstance(act, a.StepChoice):
                ids = {c for s, c in act.options if s == step.id}
                if len(ids) == 1:
                    chosen = next(c for c in step.choices if c.id in ids)
                    self.carry.remove(act)
                    self.save(step.save_as, chosen.id)
                    return chosen.go or step.next
        return None

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

    def changes(self, summary: bool = False) -> list[a.Act]:
        """What the message changes in the cart, at a step that is not the order's. At the
        summary (``summary``) any item or option said is a change: "sí, una coca" adds the coca,
        "ok, pero sin cebolla" changes the tacos; a yes must not place the order without them."""
        found: list[a.Act] = [x for x in self.acts if isinstance(x, (a.Remove, a.Replace, a.SetQuantity, a.More))]
        found += [x for x in self.acts if isinstance(x, (a.AddLine, a.Unsure)) and (x.explicit or summary)]
        if summary or self.reading.rather:
            found += [x for x in self.acts if isinstance(x, a.Choose)]
        return found

    def answer_choice(self, step: ChoiceStep) -> None:
        if self.changes() or self.items_only():
            self.edit_later(step)
            return
        chosen = None
        mine = {c for x in self.acts if isinstance(x, a.StepChoice) for s, c in x.options if s == step.id}
        numbers = [x for x in self.acts if isinstance(x, (a.Number, a.Pick))]
        if len(mine) == 1:
            chosen = next(c for c in step.choices if c.id in mine)
        elif not mine and len(numbers) == 1 and (isinstance(numbers[0], a.Pick) or self.bare()):
            number = numbers[0].position if isinstance(numbers[0], a.Pick) else numbers[0].value
            if 1 <= number <= len(step.choices):
                chosen = step.choices[number - 1]
        if self.change_earlier(step):
            return
        if chosen is None:
            if self.save_ahead(self.acts, step.id):
                self.reask(prefix=None)
                return
            self.reask()
            return
        self.save(step.save_as, chosen.id)
        self.save_ahead(self.acts, step.id)
        self.go(chosen.go or step.next, from_step=step.id)  # type: ignore[arg-type]

    def bare(self) -> bool:
        """The whole message is the number: "2" picks the second choice, "paso en 20" does not."""
        return len(self.reading.acts) == 1 and not self.reading.leftover

    def items_only(self) -> bool:
        """Only items, nothing else ("2 gringas" at "¿Cómo lo quieres?"): the customer is still ordering."""
        adds = [x for x in self.acts if isinstance(x, (a.AddLine, a.Unsure))]
        rest = [x for x in self.acts if not isinstance(x, (a.AddLine, a.Unsure, a.Number))]
        return bool(adds) and not rest and not self.reading.leftover

    def edit_later(self, step: InputStep) -> None:
        """Items and changes said after the order was taken: applied, then back to ordering (or, at
        the summary, the summary again)."""
        order_step = self.order_step()
        if order_step is None:
            self.reask()
            return
        confirming = isinstance(step, ConfirmStep)
        if not confirming:
            self.save_ahead(self.acts, None)  # "recoger, y una coca": the answer is kept too
            self.session = self.session.evolve(step=order_step.id)  # "¿Algo más?" from here on
        edits = self.changes(summary=confirming)
        self.ordering.take_free_quietly(order_step, [x for x in self.acts if isinstance(x, CHANGES) or x in edits])
        self.session = self.session.evolve(ahead=tuple(self.session.answers))
        if confirming:
            self.ordering.settle(order_step, finish=False, ask=False)
            if not self.session.pending and self.session.which is None:
                self.session = self.session.evolve(ahead=())
                self.say(step.ask, self.step_extras(step))  # the summary again, with the change
                return
            self.session = self.session.evolve(step=order_step.id)
        self.ordering.settle(order_step)

    def to_ordering(self) -> None:
        """ "quiero agregar algo" after the order was taken: back to taking items, answers kept."""
        order_step = self.order_step()
        if order_step is None:
            self.reask()
            return
        self.session = self.session.evolve(ahead=tuple(self.session.answers))
        self.go((Branch(order_step.id),))

    def order_step(self) -> OrderItemStep | None:
        return self.flows.compiled.order_step

    def save_ahead(self, acts: Sequence[a.Act], here: str | None) -> bool:
        """Answers to later questions said now ("recoger, soy Luis"): saved, their steps passed over."""
        saved = False
        answers = dict(self.session.answers)
        ahead = list(self.session.ahead)
        steps = self.flows.order.steps
        for act in acts:
            found: list[tuple[str, str]] = []
            if isinstance(act, a.StepChoice):
                for step_id, choice in act.options:
                    step = steps.get(step_id)
                    if step_id != here and isinstance(step, ChoiceStep) and step.save_as:
                        found.append((step.save_as, choice))
            elif isinstance(act, a.Name) and not act.here_only:
                if "name" in self.flows.compiled.text_answers:
                    found.append(("name", act.text))
            elif isinstance(act, a.SamePhone) and not act.weak:
                for name in self.flows.compiled.phone_answers:
                    found.append((name, self.inbound.customer))
            for name, value in found[:1]:
                if name in answers and name not in ahead:
                    continue
                if here is not None and name == getattr(steps.get(here), "save_as", None):
                    continue
                answers[name] = value
                if name not in ahead:
                    ahead.append(name)
                saved = True
        if saved:
            self.session = self.session.evolve(answers=answers, ahead=tuple(ahead))
        return saved

    def change_earlier(self, step: InputStep) -> bool:
        """ "mejor paso yo" at the address: an answer already given changes, and the questions that
        follow from it are asked again only where the new answer needs them."""
        steps = self.flows.order.steps
        for fix in [x for x in self.acts if isinstance(x, a.Correct) and x.value]:
            value: Any = fix.value
            if fix.field == "contact":
                value = parse_phone(fix.value, self.flows.restaurant.country)
                if value is None:
                    continue
            if fix.field == getattr(step, "save_as", None):
                continue
            self.save(fix.field, value)
            self.reask(prefix=None)
            return True
        for act in self.acts:
            if isinstance(act, a.Name) and not act.here_only and "name" in self.session.answers \
                    and "name" not in self.session.ahead and getattr(step, "save_as", None) != "name":
                self.save("name", act.text)  # "perdón, el nombre es Ana María"
                self.reask(prefix=None)
                return True
        confirming = isinstance(step, ConfirmStep)
        for act in self.acts:
            if not isinstance(act, a.StepChoice) or not (act.rather or confirming):
                continue
            for step_id, choice_id in act.options:
                earlier = steps.get(step_id)
                if step_id == step.id or not isinstance(earlier, ChoiceStep) or not earlier.save_as:
                    continue
                if earlier.save_as not in self.session.answers or earlier.save_as in self.session.ahead:
                    continue
                chosen = next(c for c in earlier.choices if c.id == choice_id)
                self.save(earlier.save_as, chosen.id)
                self.session = self.session.evolve(ahead=tuple(self.session.answers))
                self.go(chosen.go or earlier.next, from_step=None)  # type: ignore[arg-type]
                return True
        return False

    def answer_confirm(self, step: ConfirmStep) -> None:
        no = next((x for x in self.acts if isinstance(x, a.YesNo) and not x.value), None)
        yes = next((x for x in self.acts if isinstance(x, a.YesNo) and x.value), None)
        done = any(isinstance(x, a.Intent) and x.name == "done" for x in self.acts)
        unsure = any(isinstance(x, a.Intent) and x.name in ("unsure", "wait") for x in self.acts)
        waiting = any(isinstance(x, a.Intent) and x.name == "wait" for x in self.acts)
        places = self.flows.compiled.places_order(step)
        if no is not None and (yes is None or self.acts.index(no) < self.acts.index(yes)):
            self.carry = [x for x in self.acts if isinstance(x, a.StepChoice)]
            self.go(step.no, from_step=step.id)
            return
        if places and (self.changes(summary=True) or self.items_only()):
            self.edit_later(step)
            return
        if places and self.change_earlier(step):
            return
        if (yes is not None or (done and places)) and not unsure and not self.answered and not self.reading.asking:
            rest: list[a.Act] = [x for x in self.acts if isinstance(x, CHANGES)]
            self.go(step.yes, from_step=step.id)
            if rest and isinstance(self.step(), OrderItemStep):
                self.acts = rest
                self.ordering.take(self.step())  # type: ignore[arg-type]
            return
        self.reask(prefix=None if self.answered or waiting else "not_understood")

    def answer_text(self, step: TextStep) -> None:
        location = self.inbound.location
        if location is not None and "location" in step.accept:
            self.save(step.save_as, location.describe())
            self.save("location", {"latitude": location.latitude, "longitude": location.longitude, "label": location.label})
            self.go(step.next, from_step=step.id)
            return
        if self.changes():
            self.edit_later(step)
            return
        if self.change_earlier(step):
            return
        if self.reading.has(a.Asked) or self.answered:
            self.reask(prefix=None)  # "¿llegan a la Condesa?", "ahorita te mando la ubicación": not an address
            return
        value = self.free_text(step)
        if value is None or "text" not in step.accept or not step.min_length <= len(value) <= step.max_length:
            self.reask()
            return
        self.save(step.save_as, value)
        if step.save_as == "name":  # "Ana, al de WhatsApp"; an address may say anything ("Crédito Constructor")
            self.save_ahead(self.acts, step.id)
        self.go(step.next, from_step=step.id)

    def free_text(self, step: TextStep) -> str | None:
        """What the customer wrote as the answer to a text question, or None when the message is
        something else: an item ("3 pastor" is not a name), a choice of another question, a
        promise ("ahorita te digo"), a reference the bot cannot know ("la misma de siempre")."""
        reading = self.reading
        if any(isinstance(x, (a.UnknownRef, a.Intent, a.Unclear)) for x in self.acts):
            return None
        if step.save_as in self.flows.compiled.text_answers and step.save_as == "name":
            names = [x for x in self.acts if isinstance(x, a.Name)]
            if names and isinstance(names[0], a.Name):
                return names[0].text
            return ", ".join(reading.free) if reading.free else None
        if not reading.leftover and any(isinstance(x, (a.AddLine, a.Unsure, a.StepChoice)) for x in self.acts):
            return None  # only things the bot knows ("3 pastor", "a domicilio")
        return self.text

    def answer_phone(self, step: PhoneStep) -> None:
        if self.changes():
            self.edit_later(step)
            return
        if self.change_earlier(step):
            return
        number: str | None = None
        for act in self.acts:
            if isinstance(act, a.Phone) or (isinstance(act, a.Correct) and act.field == "contact" and act.value):
                written = act.digits if isinstance(act, a.Phone) else act.value
                number = parse_phone(written, self.flows.restaurant.country)
                break
            if isinstance(act, a.SamePhone):
                number = self.inbound.customer
                break
        if number is None and self.norm in step.same_words:
            number = self.inbound.customer
        if number is None:
            if self.answered:
                self.reask(prefix=None)
                return
            self.say(step.retry or "phone_invalid")
            return
        self.save(step.save_as, number)
        self.save_ahead(self.acts, step.id)
        self.go(step.next, from_step=step.id)

    # ------------------------------------------------------------ built-in actions

    def clear_cart(self) -> None:
        """The order is dropped: its lines and what was answered for it (name, phone, address)."""
        self.session = self.session.evolve(cart=(), pending=(), answers={}, ahead=(), which=None, last=None,
                                           finishing=False)

    def place_order(self) -> None:
        order = self.build_order()
        self.effects.append(SaveOrder(order))
        self.effects.append(NotifyAdmin("order", self.render("admin_new_order")))
        # The next order of this conversation needs a key of its own (customer, started, placed).
        self.session = self.session.evolve(cart=(), pending=(), placed=self.session.placed + 1, last=None)

    def handover(self) -> None:
        until = self.now + timedelta(minutes=self.flows.restaurant.handover_minutes)
        self.session = self.session.evolve(quiet_until=int(until.timestamp()))
        self.effects.append(HandOver(self.inbound.customer, until.isoformat(), tuple(self.session.recent)))
        self.effects.append(NotifyAdmin("handover", self.render("admin_handover")))

    def opt_out(self) -> None:
        """The customer asked not to be written to: nothing is kept, and the service sends nothing on
        its own until they write again."""
        self.clear_cart()
        self.effects[:] = [e for e in self.effects if not isinstance(e, OptIn)]
        self.effects.append(OptOut(self.inbound.customer))

    def build_order(self) -> Order:
        answers = dict(self.session.answers)
        variables = self.context()  # the cart and the order as the messages saw them
        cart, view = variables["cart"], variables["order"]
        location = answers.pop("location", None)
        delivering = answers.get("fulfilment") == "delivery"
        address = answers.get("address") if delivering else None
        if not delivering:
            location = None
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
    "opt_out": Turn.opt_out,
}
"""The built-in actions a message step can ``do``."""
