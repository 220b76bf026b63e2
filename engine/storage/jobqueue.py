"""The job queue (``engine.model.jobs.JobQueue``) in Redis and in memory: jobs by id, each due at
a time, claimed with a lease.

Why not the ``Store``: a queue must find its waiting jobs again after a restart, in due order,
and two instances must never take the same job at once. ``Store`` has neither listing nor an
atomic "take what is due". So the queue has its own interface, with
``engine.storage.redis_jobqueue.RedisJobQueue`` in Redis, ``MemoryJobQueue`` below, and
``FallbackJobQueue``: Redis while it answers, memory while it does not, and the jobs kept in
memory during an outage moved to Redis when it comes back.

Redis on Render's free plan keeps nothing on disk: a restart empties it. So ``FallbackJobQueue``
also keeps, in this process, a copy of every job it put in Redis and has not seen finished, and
when Redis comes back empty (its epoch key changed, see ``RedisJobQueue.epoch``) it puts them
back. A restart of Redis loses nothing then, unless this process dies too before Redis is back.
The queue of record for the outbox is the order store's (``engine.orders``); this one holds what
waits while the order store cannot be reached, and the orders waiting for it.

Guarantees: ``add`` refuses an id that is waiting or was finished less than ``keep`` seconds ago
(one event, one message); ``claim`` hands a due job to one caller and hides it for ``lease``
seconds, after which, if nobody finished or rescheduled it (the process died mid-send), it is
due again. A crash between Twilio accepting a message and ``finish`` therefore sends it again
after the lease: at-least-once, the only honest promise without an idempotency key at Twilio.
A job of a chain (``Job.chain``) is handed out only while it is the first of its chain still
waiting, in the order the chain's jobs were added; moved between Redis and memory, a chain keeps
its order (a job claimed from Redis and rescheduled in memory during an outage keeps its payload
but not its place: memory knows nothing of the chain it came from).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from engine.model.jobs import Job, JobQueue
from engine.storage.fallback import REDIS_DOWN, RedisHealth

__all__ = ["Job", "JobQueue", "MemoryJobQueue", "FallbackJobQueue", "RedisQueueLike"]


@dataclass(slots=True)
class WaitingJob:
    """A job ``MemoryJobQueue`` holds."""

    payload: str
    due: float
    chain: str
    order: int
    """When it was added, in this queue (it orders a chain)."""


class MemoryJobQueue:
    """A ``JobQueue`` in this process (lost on restart); ``now`` measures the ``keep`` marks."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._jobs: dict[str, WaitingJob] = {}
        self._added = itertools.count()
        self._retrying: set[str] = set()
        self._finished: dict[str, float] = {}
        """Finished id -> when its mark expires."""

    def _is_finished(self, id: str) -> bool:
        expires = self._finished.get(id)
        if expires is not None and expires <= self._now():
            del self._finished[id]
            return False
        return expires is not None

    async def add(self, id: str, payload: str, due: float, chain: str = "") -> bool:
        if id in self._jobs or self._is_finished(id):
            return False
        self._jobs[id] = WaitingJob(payload, due, chain, next(self._added))
        return True

    async def claim(self, now: float, lease: float, limit: int) -> list[Job]:
        first: dict[str, tuple[int, str]] = {}  # chain -> its first job still waiting
        for id, job in self._jobs.items():
            if job.chain and (job.chain not in first or job.order < first[job.chain][0]):
                first[job.chain] = (job.order, id)
        due = sorted((job.due, job.order, id) for id, job in self._jobs.items()
                     if job.due <= now and (not job.chain or first[job.chain][1] == id))[:limit]
        claimed = []
        for _, _, id in due:
            job = self._jobs[id]
            job.due = now + lease
            self._retrying.discard(id)  # in flight: nothing may bring it forward to a second claimer
            claimed.append(Job(id, job.payload, job.chain))
        return claimed

    async def reschedule(self, id: str, payload: str, due: float, retrying: bool = False) -> None:
        # An upsert: during an outage this may be a job claimed from Redis; keeping it here means
        # it is not lost, and moving it back to Redis later will not duplicate it.
        if not self._is_finished(id):
            job = self._jobs.get(id)
            if job is None:
                self._jobs[id] = WaitingJob(payload, due, "", next(self._added))
            else:
                job.payload, job.due = payload, due
            (self._retrying.add if retrying else self._retrying.discard)(id)

    async def finish(self, id: str, keep: float, sid: str | None = None) -> None:
        self._jobs.pop(id, None)
        self._retrying.discard(id)
        self._finished[id] = self._now() + keep
        now = self._now()
        for old in [i for i, expires in self._finished.items() if expires <= now]:
            del self._finished[old]

    async def wake(self, now: float) -> None:
        for job in self._jobs.values():
            job.due = min(job.due, now)

    async def hurry(self, now: float, limit: int | None = None) -> list[str]:
        later = sorted((self._jobs[id].due, id) for id in self._retrying if id in self._jobs and self._jobs[id].due > now)
        hurried = [id for _, id in later[:limit]]
        for id in hurried:
            self._jobs[id].due = now
        return hurried

    async def pending(self) -> int:
        return len(self._jobs)

    def export(self) -> tuple[list[tuple[Job, float]], list[tuple[str, float]]]:
        """The waiting jobs with when each is due, in the order they were added (so a chain
        keeps its order wherever they go), and the finished marks ``(id, seconds left)``."""
        now = self._now()
        jobs = [(Job(id, job.payload, job.chain), job.due) for id, job in sorted(self._jobs.items(), key=lambda j: j[1].order)]
        marks = [(id, expires - now) for id, expires in self._finished.items() if expires > now]
        return jobs, marks

    def clear(self) -> None:
        self._jobs.clear()
        self._retrying.clear()
        self._finished.clear()


class RedisQueueLike(JobQueue, Protocol):
    async def ping(self) -> bool: ...

    async def epoch(self) -> str:
        """The mark of this Redis's data: a new one after it lost everything (a restart)."""
        ...

    async def survey(self, ids: list[str]) -> tuple[str, set[str]]:
        """The epoch, and which of ``ids`` are waiting in the queue, in one step (a restart cannot
        fall between the two)."""
        ...


LOST = "⚠️ Redis no responde: los mensajes por enviar esperan en memoria"
BACK = "✅ Redis de vuelta: los mensajes por enviar vuelven a Redis"
EMPTIED = "⚠️ Redis volvió vacío (se reinició): se vuelven a poner los trabajos en espera"


class FallbackJobQueue:
    """``redis`` (None: memory only) while it answers, ``memory`` while it does not; while
    degraded, Redis is tried again at most every ``probe_every`` seconds. What this instance put
    in Redis is also kept here until finished, and put back if Redis comes back empty."""

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
        self._copies: dict[str, tuple[Job, float]] = {}
        """Jobs put in Redis by this instance and not seen finished: id -> (the job, when due),
        in the order they were added (a chain is put back in its order)."""
        self._epoch: str | None = None
        """Redis's epoch when last seen (None: not yet)."""

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
            for job, due in jobs:
                await self.redis.add(job.id, job.payload, due, job.chain)  # refused when Redis has it already
                self._copies[job.id] = (job, due)
        except REDIS_DOWN as error:
            self._lost(error)
            for job, due in jobs:  # Redis went away again: nothing moved is lost
                await self.memory.add(job.id, job.payload, due, job.chain)
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

    async def _keep_copies(self, redis: RedisQueueLike) -> None:
        """Put the copies back if Redis lost its data; forget those finished by anyone. With no
        copy to keep this costs nothing (an idle instance writes nothing to Redis)."""
        if not self._copies:
            self._epoch = None
            return
        epoch, waiting = await redis.survey(list(self._copies))
        if self._epoch is not None and epoch != self._epoch:
            restored = 0
            for job, due in list(self._copies.values()):
                restored += await redis.add(job.id, job.payload, due, job.chain)
            self._log.warning("%s (%d)", EMPTIED, restored)
        else:
            for id in [id for id in self._copies if id not in waiting]:
                del self._copies[id]
        self._epoch = epoch

    async def _baseline(self, redis: RedisQueueLike) -> None:
        """Before a first copy is made: the epoch of the Redis it goes to, to compare with later
        (taken first, so a restart right after the write still shows as a new epoch)."""
        if self._epoch is None:
            self._epoch = await redis.epoch()

    async def add(self, id: str, payload: str, due: float, chain: str = "") -> bool:
        redis = await self._redis_now()
        if redis is not None:
            try:
                await self._baseline(redis)
                added = await redis.add(id, payload, due, chain)
                if added:
                    self._copies[id] = (Job(id, payload, chain), due)
                return added
            except REDIS_DOWN as error:
                self._lost(error)
        return await self.memory.add(id, payload, due, chain)

    async def claim(self, now: float, lease: float, limit: int) -> list[Job]:
        redis = await self._redis_now()
        if redis is not None:
            try:
                await self._keep_copies(redis)
                return await redis.claim(now, lease, limit)
            except REDIS_DOWN as error:
                self._lost(error)
        return await self.memory.claim(now, lease, limit)

    async def reschedule(self, id: str, payload: str, due: float, retrying: bool = False) -> None:
        redis = await self._redis_now()
        if redis is not None:
            try:
                await self._baseline(redis)
                await redis.reschedule(id, payload, due, retrying)
                copy = self._copies.get(id)
                self._copies[id] = (Job(id, payload, copy[0].chain if copy else ""), due)
                return
            except REDIS_DOWN as error:
                self._lost(error)
        await self.memory.reschedule(id, payload, due, retrying)

    async def finish(self, id: str, keep: float, sid: str | None = None) -> None:
        self._copies.pop(id, None)
        redis = await self._redis_now()
        if redis is not None:
            try:
                await redis.finish(id, keep, sid)
                return
            except REDIS_DOWN as error:
                self._lost(error)
        await self.memory.finish(id, keep, sid)

    async def wake(self, now: float) -> None:
        redis = await self._redis_now()
        if redis is not None:
            try:
                await redis.wake(now)
            except REDIS_DOWN as error:
                self._lost(error)
        await self.memory.wake(now)

    async def hurry(self, now: float, limit: int | None = None) -> list[str]:
        hurried = []
        redis = await self._redis_now()
        if redis is not None:
            try:
                hurried = await redis.hurry(now, limit)
            except REDIS_DOWN as error:
                self._lost(error)
        left = None if limit is None else limit - len(hurried)
        return hurried + (await self.memory.hurry(now, left) if left is None or left > 0 else [])

    async def pending(self) -> int:
        waiting = await self.memory.pending()
        redis = await self._redis_now()
        if redis is not None:
            try:
                waiting += await redis.pending()
            except REDIS_DOWN as error:
                self._lost(error)
        return waiting
