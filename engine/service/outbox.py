"""The outbox: every WhatsApp message sent outside the TwiML reply goes through here.

``enqueue`` writes the message to a durable ``JobQueue`` under the id of the event that caused it
(an order number, an error report id...) and returns at once, so the webhook reply never waits on
Twilio. ``engine.service.courier.Courier`` delivers what is due. In the service the queue is the
order store's (``engine.service.durable.DurableQueue``): ``jobs`` builds the same jobs for an
order's notices, which the order store writes in the order's own transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from engine.channels.twilio.twiml import split_message
from engine.model.jobs import Job, JobQueue
from engine.service.optouts import OptOuts

REPORT_KIND = "error_report"
"""The kind of the admin's error reports: when one cannot be sent it is only logged (reporting
it would report the report)."""


def event_id(*parts: object) -> str:
    """A short id for the event ``parts`` describe: the same event, the same id."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:20]


def order_notice_id(order_key: str, index: int) -> str:
    """The outbox id of the admin's ``index``-th notice of a new order: one name whichever path
    stores the order (at once, or later from the waiting queue), so a message handled again after
    a crash never queues a second copy."""
    return f"order:{event_id(order_key, 'order')}" + (f":{index}" if index else "")


@dataclass(frozen=True)
class OutboxItem:
    """One message in the queue."""

    to: str
    body: str
    kind: str
    """``order``, ``status``, ``forward``, ``REPORT_KIND``...: for the logs and for reports."""
    created: float
    """When it was queued: orders one recipient's messages."""
    attempts: int = 0
    """Failed tries so far (transient ones; the 24-hour window does not count)."""
    window_logged: bool = False
    """The 24-hour window warning was logged for this message already."""
    template: bool = False
    """Send the approved template (``ADMIN_TEMPLATE_SID``) with this text in its variable, not
    the text: Twilio reported the text outside the 24-hour window (63016)."""
    content_sid: str = ""
    """A Content template (buttons or a list) to send with ``variables`` instead of the text; the
    text (the same question, numbered) goes out instead when the template cannot ("": text)."""
    variables: dict[str, str] | None = None
    """The template's ``ContentVariables``."""
    window_until: float = 0.0
    """Until when the template may be sent (epoch): WhatsApp's 24 hours since the customer's
    message; after it only the text is tried (0: no limit)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> OutboxItem:
        return cls(**json.loads(text))


class Outbox:
    """Messages waiting to be sent, in ``queue`` (shared by every instance when it is in Redis)."""

    def __init__(self, queue: JobQueue, now: Callable[[], float] = time.time, optouts: OptOuts | None = None) -> None:
        self.queue = queue
        self.now = now
        self.optouts = optouts
        """Customers who asked not to be written to: their messages are not queued."""
        self.news = asyncio.Event()
        """Set when a message is queued or ``wake`` is called: the courier waits on it between rounds."""

    def jobs(self, event_id: str, to: str, body: str, kind: str) -> list[Job]:
        """The jobs of a message for ``to`` caused by ``event_id``: one, or several when the body
        is longer than WhatsApp takes (cut where the text allows, one chain: in order)."""
        parts = split_message(body)
        now = self.now()
        jobs = []
        for index, part in enumerate(parts):
            part_id = event_id if len(parts) == 1 else f"{event_id}#{index + 1}"
            # ``created`` orders one recipient's messages: the parts keep theirs.
            item = OutboxItem(to=to, body=part, kind=kind, created=now + index * 1e-6)
            jobs.append(Job(part_id, item.to_json(), event_id if len(parts) > 1 else ""))
        return jobs

    async def enqueue(self, event_id: str, to: str, body: str, kind: str) -> bool:
        """Queue a message for ``to`` caused by ``event_id``; False when that event's message is
        already waiting or was sent (nothing is queued then), and for a customer who asked not to
        be written to."""
        if self.optouts is not None and await self.optouts.holds(to):
            return False
        now = self.now()
        added = False
        for job in self.jobs(event_id, to, body, kind):
            added = await self.queue.add(job.id, job.payload, now, job.chain) or added
        if added:
            self.news.set()
        return added

    async def wake(self) -> None:
        """Try every waiting message now (the admin just wrote: the 24-hour window is open)."""
        await self.queue.wake(self.now())
        self.news.set()
