"""Taps: which question a turn's buttons belong to, and what a tap answers.

Pure, beside ``engine.runtime.handle``: the service asks ``offer_sent`` which buttons go with a
turn's last reply, and the turn asks ``read_tap`` first, before reading any text, what a tap
means for the question the session waits on (``choices_view.offer_waiting``).
"""

from __future__ import annotations

from engine.model.effects import ForwardToAdmin, HandOver, Outcome, ReportError
from engine.runtime.choices_view import BODY_LIMIT, Offer, offer_waiting
from engine.runtime.flows import Flows


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
