"""What goes into and comes out of the runtime: an inbound message, effects, the outcome.

The runtime is pure: ``handle(flows, session, inbound, now) -> Outcome``. Everything the outside
world must do after a message (store an order, tell the admin, hand the customer to a person)
comes back as an effect carrying all of its data; the service layer executes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from engine.model.order import Order
from engine.model.session import Session

#: Stands in for the order number inside rendered texts until the order store assigns one.
#: ``Outcome.with_order_number`` swaps it for the real number.
ORDER_NUMBER_SLOT = "\u2063ORDER-NUMBER\u2063"


@dataclass(frozen=True, slots=True)
class SaveOrder:
    """Store this order; its number replaces ``ORDER_NUMBER_SLOT`` in the replies and notices."""

    order: Order


@dataclass(frozen=True, slots=True)
class NotifyAdmin:
    """Send this text to the admin's WhatsApp."""

    kind: str
    """``order``, ``handover``, ``error``: lets the sender throttle by kind."""
    text: str


@dataclass(frozen=True, slots=True)
class HandOver:
    """A person takes over this customer: the bot stays quiet until ``until``."""

    customer: str
    until: str
    """ISO 8601 timestamp."""
    recent: tuple[str, ...]
    """The customer's last messages, oldest first."""


@dataclass(frozen=True, slots=True)
class ForwardToAdmin:
    """A message from a customer who is talking to a person: pass it on, the bot says nothing."""

    customer: str
    text: str


@dataclass(frozen=True, slots=True)
class ReportError:
    """Something went wrong while answering; the customer got an apology."""

    customer: str
    what: str


@dataclass(frozen=True, slots=True)
class OptOut:
    """The customer asked not to be written to: the service sends them nothing on its own (order
    updates, notices) until they write again."""

    customer: str


@dataclass(frozen=True, slots=True)
class OptIn:
    """The customer wrote to start a conversation: whatever an earlier ``OptOut`` stopped may be sent again."""

    customer: str


Effect = Union[SaveOrder, NotifyAdmin, HandOver, ForwardToAdmin, ReportError, OptOut, OptIn]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the runtime returns for one inbound message."""

    session: Session
    """The new session to store for this customer."""
    replies: tuple[str, ...]
    """Texts to send back, in order (may be empty: a quiet bot during a hand-over)."""
    effects: tuple[Effect, ...] = ()

    @property
    def order(self) -> Order | None:
        return next((e.order for e in self.effects if isinstance(e, SaveOrder)), None)

    def with_order_number(self, number: int | str) -> Outcome:
        """The same outcome with the stored order's number written into every text."""
        def fill(text: str) -> str:
            return text.replace(ORDER_NUMBER_SLOT, str(number))

        effects = tuple(
            NotifyAdmin(e.kind, fill(e.text)) if isinstance(e, NotifyAdmin) else e for e in self.effects
        )
        return Outcome(self.session, tuple(fill(r) for r in self.replies), effects)
