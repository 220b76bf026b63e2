"""The outbox's queue of record: the order store's (``OrderStore.queue``), with a spare.

What waits to be sent lives next to the orders (SQLite's file, or Supabase's ``outbox`` table),
not in Redis: Render's free Key Value keeps nothing on disk. While the order store cannot be
reached, new messages wait in the spare (Redis, with the memory fallback and its copies) and are
sent from there; as soon as the store answers again, what waits in the spare moves into it, and
the ids sent from the spare meanwhile are marked there as sent, so the same event is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from engine.model.jobs import Job, JobQueue, Tracked, TrackingQueue
from engine.orders.store import OrderStoreError

LOST = "⚠️ La base de pedidos no responde: los mensajes por enviar esperan en Redis o en memoria"
BACK = "✅ La base de pedidos responde otra vez: los mensajes por enviar vuelven a ella"
MOVED_KEEP = 7 * 86400
"""How long the spare refuses an id it handed to the store (the store refuses it from then on)."""


class DurableQueue:
    """A ``TrackingQueue``: ``store`` while it answers, ``spare`` while it does not."""

    def __init__(self, store: TrackingQueue, spare: JobQueue, log: logging.Logger, now: Callable[[], float]) -> None:
        self.store = store
        self.spare = spare
        self._log = log
        self._now = now
        self._down = False
        self._from_spare: set[str] = set()
        """Jobs claimed from the spare and not yet finished or rescheduled."""
        self._marks: dict[str, tuple[float, str | None]] = {}
        """Sent while the store was down: id -> (when its mark expires, Twilio's SID); written to
        the store before it is next claimed from."""

    def _lost(self, error: OrderStoreError) -> None:
        if not self._down:
            self._log.warning("%s (%s)", LOST, type(error).__name__)
        self._down = True

    def _answered(self) -> None:
        if self._down:
            self._log.info(BACK)
        self._down = False

    async def add(self, id: str, payload: str, due: float, chain: str = "") -> bool:
        try:
            added = await self.store.add(id, payload, due, chain)
        except OrderStoreError as error:
            self._lost(error)
            return await self.spare.add(id, payload, due, chain)
        self._answered()
        return added

    async def claim(self, now: float, lease: float, limit: int) -> list[Job]:
        waiting = await self.spare.claim(now, lease, limit)
        try:
            for id, (until, sid) in list(self._marks.items()):
                await self.store.finish(id, until - now, sid)
                del self._marks[id]
            while waiting:  # the store answers: what waited in the spare moves into it
                job = waiting[0]
                await self.store.add(job.id, job.payload, now, job.chain)  # refused when the store has it already
                await self.spare.finish(job.id, MOVED_KEEP)
                waiting.pop(0)
            jobs = await self.store.claim(now, lease, limit)
        except OrderStoreError as error:
            self._lost(error)
            self._from_spare.update(job.id for job in waiting)
            return waiting
        self._answered()
        return jobs

    async def reschedule(self, id: str, payload: str, due: float, retrying: bool = False) -> None:
        if id in self._from_spare:
            self._from_spare.discard(id)
            return await self.spare.reschedule(id, payload, due, retrying)
        try:
            await self.store.reschedule(id, payload, due, retrying)
        except OrderStoreError as error:  # it comes back when its lease ends
            self._lost(error)

    async def finish(self, id: str, keep: float, sid: str | None = None) -> None:
        if id in self._from_spare:
            self._from_spare.discard(id)
            self._marks[id] = (self._now() + keep, sid)
            return await self.spare.finish(id, keep, sid)
        try:
            await self.store.finish(id, keep, sid)
        except OrderStoreError as error:
            self._lost(error)
            self._marks[id] = (self._now() + keep, sid)  # written before the store is claimed from again

    async def wake(self, now: float) -> None:
        await self.spare.wake(now)
        try:
            await self.store.wake(now)
        except OrderStoreError as error:
            self._lost(error)

    async def hurry(self, now: float, limit: int | None = None) -> list[str]:
        hurried = await self.spare.hurry(now, limit)
        left = None if limit is None else limit - len(hurried)
        if left is not None and left <= 0:
            return hurried
        try:
            return hurried + await self.store.hurry(now, left)
        except OrderStoreError as error:
            self._lost(error)
            return hurried

    async def pending(self) -> int:
        waiting = await self.spare.pending()
        try:
            return waiting + await self.store.pending()
        except OrderStoreError as error:
            self._lost(error)
            return waiting

    async def track(self, sid: str, status: str, code: int | None) -> Tracked | None:
        return await self.store.track(sid, status, code)

    async def reopen(self, id: str, payload: str, due: float) -> bool:
        return await self.store.reopen(id, payload, due)
