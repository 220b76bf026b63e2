"""Taps: which question a turn's buttons belong to, and what a tap answers.

Pure, beside ``engine.runtime.handle``: the service asks ``offer_sent`` which buttons go with a
turn's last reply, and the turn asks ``read_tap`` first, before reading any text, what a tap
means for the question the session waits on (``choices_view.offer_waiting``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine.model.effects import ForwardToAdmin, HandOver, Outcome, ReportError
from engine.model.inbound import Inbound
from engine.model.session import Session
from engine.model.steps import ChoiceStep, ConfirmStep
from engine.runtime.choices_view import (
    BODY_LIMIT,
    Offer,
    Option,
    offer_waiting,
    parse_tap,
)
from engine.runtime.flows import Flows

STALE_TAP = "stale_tap"
"""The message that tells a customer the button they tapped is from an earlier message."""


def offer_sent(flows: Flows, outcome: Outcome) -> Offer | None:
    """The question a turn ends on, when its buttons or list can go with the last reply: the
    session waits on a question that offers something to tap, and the turn's last reply is that
    question (a turn that apologised, handed over or forwarded to a person asks nothing new)."""
    if not outcome.replies or len(outcome.replies[-1]) > BODY_LIMIT:
        return None
    session = outcome.session
    if session.quiet_until > session.last_seen:
        return None
    if any(isinstance(e, (ReportError, HandOver, ForwardToAdmin)) for e in outcome.effects):
        return None
    offer = offer_waiting(flows, session)
    return offer if offer is not None and offer.kind != "none" else None


@dataclass(frozen=True, slots=True)
class Tapped:
    """What a message means once its tap is read."""

    inbound: Inbound
    """The message to answer: a tap on the question asked now carries that option's exact
    answer as its text (its number, or the yes or no word), read as if typed, so the turn goes
    on as for a typed answer; anything else, unchanged."""
    stale: bool = False
    """A tap of another question (an old message's): answer with ``STALE_TAP`` and the question
    asked now, and do nothing else."""


def read_tap(flows: Flows, session: Session, inbound: Inbound) -> Tapped:
    """Read ``inbound``'s tap, by its id, exactly, against the question ``session`` waits on. A
    message without a tap, or with a payload that is no tap id of ours, is read as typed."""
    if inbound.tap is None or parse_tap(inbound.tap) is None:
        return Tapped(inbound)
    offer = offer_waiting(flows, session)
    option = offer.option_for(inbound.tap) if offer is not None else None
    answer = _answer(flows, offer, option) if offer is not None and option is not None else None
    if answer is None:
        return Tapped(inbound, stale=True)
    return Tapped(replace(inbound, text=answer))


def _answer(flows: Flows, offer: Offer, option: Option) -> str | None:
    """The text the question's reader takes for ``option`` without any doubt."""
    step = flows.order.steps.get(offer.step)
    words = flows.restaurant.words
    if isinstance(step, ConfirmStep):
        said = words.yes if option.value == "yes" else words.no
        other = words.no if option.value == "yes" else words.yes
        return min((w for w in said if w not in other and " " not in w), default=None)
    if isinstance(step, ChoiceStep):
        ids = [choice.id for choice in step.choices]
    else:
        group = flows.menu.options.get(offer.group or "")
        ids = [choice.id for choice in group.choices] if group is not None else []
    return str(ids.index(option.value) + 1) if option.value in ids else None
