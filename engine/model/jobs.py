"""Jobs of a durable queue and the queue's interface, declared once.

The queue holds the messages waiting to be sent (the outbox) and the orders waiting for the order
store. Its implementations live where their data lives: in Redis and memory (``engine.storage``)
and in the order store itself (``engine.orders``: a table next to the orders, so an order and the
notices it causes are written in one transaction). Both layers stand on this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

DELIVERY_STATUSES = {"queued": 0, "sending": 1, "sent": 2, "failed": 3, "undelivered": 3, "delivered": 4, "read": 5}
"""Twilio's statuses of an outbound message, ranked: a status only ever moves to a higher rank, so
callbacks arriving out of order never move it back (delivered, then a late "sent": delivered).
failed and undelivered are final and rank alike (one of them after the other changes nothing)."""
FAILED_STATUSES = ("failed", "undelivered")


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    """The event that caused it (an order's notice, a status message...): one event, one job."""
    payload: str
    chain: str = ""
    """The messages it must follow ("": none). Jobs of one chain go out one at a time, in the
    order they were added: a queue hands out a chain's job only once every job added before it
    to that chain is finished (sent, or given up), so a later message never overtakes an earlier
    one, whichever claim batch, worker or instance takes it. A turn with buttons is the
    customer's chain (``engine.service.buttons``), the parts of a long message their event's."""


@dataclass(frozen=True, slots=True)
class Tracked:
    """A status Twilio reported for a message a queue sent."""

    id: str
    """The job's id."""
    payload: str
    before: str | None
    """The status it had (None: only accepted)."""
    status: str
    code: int | None
    """Twilio's error code, for failed and undelivered."""
    moved: bool = True
    """The status moved forward (False: it was no news, and nothing was recorded)."""


class JobQueue(Protocol):
    async def add(self, id: str, payload: str, due: float, chain: str = "") -> bool:
        """Queue ``payload`` under ``id`` (due at epoch ``due``), last of ``chain`` (see
        ``Job.chain``); False when ``id`` is waiting already or its ``finish`` mark has not
        expired yet."""
        ...

    async def claim(self, now: float, lease: float, limit: int) -> list[Job]:
        """Up to ``limit`` jobs due at ``now``, oldest first, each hidden until ``now + lease``.
        A job of a chain is handed out only while it is the first of its chain still waiting: a
        claimed job still waits (until finished), so nothing later in its chain is handed out
        meanwhile, to this caller or another."""
        ...

    async def reschedule(self, id: str, payload: str, due: float, retrying: bool = False) -> None:
        """Keep job ``id`` with a new ``payload``, due at ``due``, in its place in its chain;
        ``retrying``: it waits because of a transient failure (``hurry`` brings it forward)."""
        ...

    async def finish(self, id: str, keep: float, sid: str | None = None) -> None:
        """Remove job ``id``; ``add`` refuses ``id`` for ``keep`` seconds. ``sid``: Twilio's id of
        the message sent, for the status callbacks (queues that track statuses keep it)."""
        ...

    async def wake(self, now: float) -> None:
        """Make every waiting job due at ``now`` (e.g. the 24-hour window just opened)."""
        ...

    async def hurry(self, now: float, limit: int | None = None) -> list[str]:
        """Make the jobs waiting after a transient failure due at ``now`` (the ``limit`` due
        soonest, or all); their ids. A claimed job is not waiting: ``claim`` takes it out of
        those, so it is never brought forward to a second claimer while it is being sent."""
        ...

    async def pending(self) -> int:
        """Jobs waiting (due or not)."""
        ...


class DeliveryLog(Protocol):
    """A queue that remembers what it sent, by Twilio's message SID, for the status callbacks."""

    async def track(self, sid: str, status: str, code: int | None) -> Tracked | None:
        """Record ``status`` for the message ``sid`` when it moves forward (``moved``); None when
        no job sent ``sid`` (unknown, so old its record is gone, or not recorded yet)."""
        ...

    async def reopen(self, id: str, payload: str, due: float) -> bool:
        """Send job ``id`` again (with ``payload``, at ``due``) though it was sent; its SID is
        forgotten, so late callbacks for the old message are ignored. False: no such job."""
        ...


def moves_forward(before: str | None, status: str) -> bool:
    """Whether ``status`` is news after ``before`` (see ``DELIVERY_STATUSES``)."""
    rank = DELIVERY_STATUSES.get(status)
    if rank is None:
        return False
    return before is None or rank > DELIVERY_STATUSES.get(before, -1)


class TrackingQueue(JobQueue, DeliveryLog, Protocol):
    """The order store's queue: a ``JobQueue`` that also tracks what it sent."""
