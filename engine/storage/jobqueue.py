"""A small durable job queue for the outbox: jobs by id, each due at a time, claimed with a lease.

Why not the ``Store``: an outbox must find its waiting jobs again after a restart, in due order,
and two instances must never take the same job at once. ``Store`` has neither listing nor an
atomic "take what is due"; emulating them with counters and keys would break exactly when the
store falls back to memory (a second counter, keys nobody lists). So the queue has its own
interface, with ``engine.redis_jobqueue.RedisJobQueue`` in Redis, ``MemoryJobQueue`` below, and
``FallbackJobQueue``: Redis while it answers, memory while it does not, and the jobs kept in
memory during an outage moved to Redis when it comes back (so from then on they survive a
restart too).

Guarantees: ``add`` refuses an id that is waiting or was finished less than ``keep`` seconds ago
(one event, one message); ``claim`` hands a due job to one caller and hides it for ``lease``
seconds, after which, if nobody finished or rescheduled it (the process died mid-send), it is
due again. A crash between Twilio accepting a message and ``finish`` therefore sends it again
after the lease: at-least-once, the only honest promise without an idempotency key at Twilio.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from engine.storage.fallback import REDIS_DOWN, RedisHealth


@dataclass(frozen=True)
class Job:
    id: str
    payload: str


class JobQueue(Protocol):
    async def add(self, id: str, payload: str, due: float) -> bool:
        """Queue ``payload`` under ``id`` (due at epoch ``due``); False when ``id`` is waiting
        already or its ``finish`` mark has not expired yet."""
        ...

    async def claim(self, now: float, lease: float, limit: int) -> list[Job]:
        """Up to ``limit`` jobs due at ``now``, oldest first, each hidden until ``now + lease``."""
        ...

    async def reschedule(self, id: str, payload: str, due: float) -> None:
        """Keep job ``id`` with a new ``payload``, due at ``due``."""
        ...

    async def finish(self, id: str, keep: float) -> None:
        """Remove job ``id``; ``add`` refuses ``id`` for ``keep`` seconds."""
        ...

    async def wake(self, now: float) -> None:
        """Make every waiting job due at ``now`` (e.g. the 24-hour window just opened)."""
        ...

    async def pending(self) -> int:
        """Jobs waiting (due or not)."""
        ...


class MemoryJobQueue:
    """A ``JobQueue`` in this process (lost on restart); ``now`` measures the ``keep`` marks."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._jobs: dict[str, tuple[str, float]] = {}
        self._finished: dict[str, float] = {}
        """Finished id -> when its mark expires."""

    def _is_finished(self, id: str) -> bool:
        expires = self._finished.get(id)
        if expires is not None and expires <= self._now():
            del self._finished[id]
            return False
        return expires is not None

    async def add(self, id: str, payload: str, due: float) -> bool:
        if id in self._jobs or self._is_finished(id):
            return False
        self._jobs[id] = (payload, due)
        return True

    async def claim(self, now: float, lease: float, limit: int) -> list[Job]:
        due = sorted((when, id) for id, (_, when) in self._jobs.items() if when <= now)[:limit]
        claimed = []
        for _, id in due:
            payload, _ = self._jobs[id]
            self._jobs[id] = (payload, now + lease)
            claimed.append(Job(id, payload))
        return claimed

    async def reschedule(self, id: str, payload: str, due: float) -> None:
        # An upsert: during an outage this may be a job claimed from Redis; keeping it here means
        # it is not lost, and moving it back to Redis later will not duplicate it.
        if not self._is_finished(id):
            self._jobs[id] = (payload, due)

    async def finish(self, id: str, keep: float) -> None:
        self._jobs.pop(id, None)
        self._finished[id] = self._now() + keep
        now = self._now()
        for old in [i for i, expires in self._finished.items() if expires <= now]:
            del self._finished[old]

    async def wake(self, now: float) -> None:
        self._jobs = {id: (payload, min(due, now)) for id, (payload, due) in self._jobs.items()}

    async def pending(self) -> int:
        return len(self._jobs)

    def export(self) -> tuple[list[tuple[str, str, float]], list[tuple[str, float]]]:
        """The waiting jobs ``(id, payload, due)`` and finished marks ``(id, seconds left)``."""
        now = self._now()
        jobs = [(id, payload, due) for id, (payload, due) in self._jobs.items()]
        marks = [(id, expires - now) for id, expires in self._finished.items() if expires > now]
        return jobs, marks

    def clear(self) -> None:
        self._jobs.clear()
        self._finished.clear()


class RedisQueueLike(JobQueue, Protocol):
    async def ping(self) -> bool: ...


LOST = "⚠️ Redis no responde: los mensajes por enviar esperan en memoria"
BACK = "✅ Redis de vuelta: los mensajes por enviar vuelven a Redis"


class FallbackJobQueue:
    """``redis`` (None: memory only) while it answers, ``memory`` while it does not; while
    degraded, Redis is tried again at most every ``probe_every`` seconds."""

    def __init__(
        self,
        redis: RedisQueueLike | None,
        memory: MemoryJobQueue,
        log: logging.Logger,
        probe_every: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.memory = memory
        self._log = log
        self._health = RedisHealth(log, LOST, probe_every, monotonic, up=redis is not None)

    @property
    def mode(self) -> str:
        return self._health.mode

    async def _use_redis(self) -> bool:
        if self._health.on_redis:
            return True
        if self.redis is None or not self._health.time_to_probe():
            return False
        try:
            await self.redis.ping()
        except REDIS_DOWN:
            return False
        # Switch first, then move what memory holds: taking it and emptying memory happen with no
        # await in between, so a job another request adds meanwhile goes straight to Redis.
        self._health.on_redis = True
        jobs, marks = self.memory.export()
        self.memory.clear()
        try:
            for id, left in marks:
                await self.redis.finish(id, left)  # finished during the outage: never again
            for id, payload, due in jobs:
                await self.redis.add(id, payload, due)  # refused when Redis has it already
        except REDIS_DOWN as error:
            self._lost(error)
            for id, payload, due in jobs:  # Redis went away again: nothing moved is lost
                await self.memory.add(id, payload, due)
            for id, left in marks:
                await self.memory.finish(id, left)
            return False
        if jobs or marks:
            self._log.info("%s (%d)", BACK, len(jobs))
        return True

    def _lost(self, error: BaseException) -> None:
        self._health.lost(error)

    async def _redis_now(self) -> RedisQueueLike | None:
        """Redis when this call should go to it (see ``_use_redis``), else None: memory."""
        return self.redis if await self._use_redis() else None

    async def add(self, id: str, payload: str, due: float) -> bool:
        redis = await self._redis_now()
        if redis is not None:
            try:
                return await redis.add(id, payload, due)
            except REDIS_DOWN as error:
                self._lost(error)
        return await self.memory.add(id, payload, due)

    async def claim(self, now: float, lease: float, limit: int) -> list[Job]:
        redis = await self._redis_now()
        if redis is not None:
            try:
                return await redis.claim(now, lease, limit)
            except REDIS_DOWN as error:
                self._lost(error)
        return await self.memory.claim(now, lease, limit)

    async def reschedule(self, id: str, payload: str, due: float) -> None:
        redis = await self._redis_now()
        if redis is not None:
            try:
                await redis.reschedule(id, payload, due)
                return
            except REDIS_DOWN as error:
                self._lost(error)
        await self.memory.reschedule(id, payload, due)

    async def finish(self, id: str, keep: float) -> None:
        redis = await self._redis_now()
        if redis is not None:
            try:
                await redis.finish(id, keep)
                return
            except REDIS_DOWN as error:
                self._lost(error)
        await self.memory.finish(id, keep)

    async def wake(self, now: float) -> None:
        redis = await self._redis_now()
        if redis is not None:
            try:
                await redis.wake(now)
            except REDIS_DOWN as error:
                self._lost(error)
        await self.memory.wake(now)

    async def pending(self) -> int:
        waiting = await self.memory.pending()
        redis = await self._redis_now()
        if redis is not None:
            try:
                waiting += await redis.pending()
            except REDIS_DOWN as error:
                self._lost(error)
        return waiting
