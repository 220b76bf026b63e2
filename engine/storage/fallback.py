"""Redis while it answers, memory while it does not, and back to Redis by itself.

A failed Redis call switches the service to its ``MemoryStore`` (logged once per outage); while
degraded, one call every ``probe_every`` seconds tries Redis again, so a dead Redis costs nothing
to the other messages. Keys under the ``carry_over`` prefixes (the sessions, the handled message
ids and their replies) are also copied to memory while Redis works, so a conversation goes on
when Redis goes away; the memory store's ``Bound`` keeps the copies of message ids few and
short-lived (Twilio's retries come within minutes). When Redis answers again, what was written during the outage is copied back to it, and
the other copies only where Redis lost them (a restarted Redis keeps nothing); then memory is
emptied, so it holds nothing that could later shadow newer data in Redis.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable, Iterator, Sequence

from redis.exceptions import RedisError

from engine.storage.redis_store import RedisStore
from engine.storage.store import (
    WRITES,
    Admit,
    Delete,
    Get,
    MemoryStore,
    Op,
    Set,
    SetIfAbsent,
    Shortcuts,
)

#: What a Redis that is down, unreachable or overloaded raises.
REDIS_DOWN = (RedisError, OSError, asyncio.TimeoutError)

CONNECTED = "✅ Redis conectado"
READY = "✅ Redis listo para usar"
UNAVAILABLE = "⚠️ Redis no disponible, usando memoria"
LOST = "⚠️ Se perdió la conexión con Redis, usando memoria mientras vuelve"
BACK = "✅ Redis de vuelta: las sesiones vuelven a Redis"


RECOVERY_ROUNDS = 5
"""Copies of what memory holds before switching back to Redis: what other requests add while one
copy is in flight goes in the next, so nothing is wiped with the memory."""


class RedisHealth:
    """Whether Redis is in use and, while it is not, when to try it again.

    Shared by everything that falls back to memory (the store, the job queues): one outage is
    logged once per user, and Redis is probed at most every ``probe_every`` seconds.
    """

    def __init__(
        self, log: logging.Logger, lost_text: str, probe_every: float, monotonic: Callable[[], float], up: bool
    ) -> None:
        self.on_redis = up
        self._log = log
        self._lost_text = lost_text
        self._probe_every = probe_every
        self._monotonic = monotonic
        self._next_probe = 0.0

    @property
    def mode(self) -> str:
        """``redis`` or ``memory``: where data goes right now."""
        return "redis" if self.on_redis else "memory"

    def time_to_probe(self) -> bool:
        """True at most once every ``probe_every`` seconds (the caller then tries Redis)."""
        if self._monotonic() < self._next_probe:
            return False
        self.wait()
        return True

    def wait(self) -> None:
        """No new probe before ``probe_every`` seconds from now."""
        self._next_probe = self._monotonic() + self._probe_every

    def lost(self, error: BaseException) -> None:
        if self.on_redis:
            self.on_redis = False
            self._log.warning("%s (%s)", self._lost_text, type(error).__name__)
        self.wait()


class FallbackStore(Shortcuts):
    """A ``Store`` over ``redis`` (may be None: memory only) with ``memory`` as the fallback."""

    def __init__(
        self,
        redis: RedisStore | None,
        memory: MemoryStore,
        log: logging.Logger,
        probe_every: float = 5.0,
        carry_over: tuple[str, ...] = (),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.memory = memory
        self._log = log
        self._carry_over = carry_over
        self._health = RedisHealth(log, LOST, probe_every, monotonic, up=False)
        self._dirty: set[str] = set()
        """Carried-over keys written to memory during the current outage."""

    @property
    def mode(self) -> str:
        """``redis`` or ``memory``: where data goes right now."""
        return self._health.mode

    async def start(self) -> None:
        """Try Redis once and say which store is in use."""
        if self.redis is None:
            self._log.warning(UNAVAILABLE)
            return
        try:
            await self.redis.ping()
            self._log.info(CONNECTED)
            _, read, _ = await self.redis.run([Set("ready-check", "1", 10), Get("ready-check"), Delete("ready-check")])
            if read != "1":
                raise RedisError("a value written could not be read back")
        except REDIS_DOWN as error:
            self._log.warning("%s (%s)", UNAVAILABLE, type(error).__name__)
            self._health.wait()
            return
        self._health.on_redis = True
        self._log.info(READY)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()

    async def _use_redis(self) -> bool:
        """True when this call should go to Redis (probing it again when it is time)."""
        if self._health.on_redis:
            return True
        if self.redis is None or not self._health.time_to_probe():  # other calls skip the probe
            return False
        try:
            await self.redis.ping()
            copied: dict[str, str] = {}
            for _ in range(RECOVERY_ROUNDS):
                fresh = [e for e in self.memory.entries(self._carry_over) if copied.get(e[0]) != e[1]]
                if not fresh:
                    break  # nothing written while copying: switch now, with no await in between
                await self.redis.run([
                    # written during the outage: newer than Redis's copy; else only restore what was lost
                    (Set if key in self._dirty else SetIfAbsent)(key, value, ttl if ttl is not None else 86400)
                    for key, value, ttl in fresh
                ])
                copied.update((key, value) for key, value, _ in fresh)
            else:
                return False  # still changing after every round: try again at the next probe
        except REDIS_DOWN:
            return False
        self.memory.clear()
        self._dirty.clear()
        self._health.on_redis = True
        self._log.info(BACK)
        return True

    async def probe(self) -> bool:
        """True when Redis answers now (it is then used again if it was not)."""
        if self._health.on_redis and self.redis is not None:
            try:
                await self.redis.ping()
                return True
            except REDIS_DOWN as error:
                self._lost(error)
                return False
        return await self._use_redis()

    def _lost(self, error: BaseException) -> None:
        self._health.lost(error)

    async def _redis_now(self) -> RedisStore | None:
        """Redis when this call should go to it (see ``_use_redis``), else None: memory."""
        return self.redis if await self._use_redis() else None

    async def run(self, ops: Sequence[Op]) -> list[Any]:
        redis = await self._redis_now()
        if redis is not None:
            try:
                results = await redis.run(ops)
            except REDIS_DOWN as error:
                self._lost(error)
            else:
                self._mirror(ops, results)
                return results
        results = await self.memory.run(ops)
        for op, _ in _ran(ops, results):
            if isinstance(op, WRITES) and self._carried(op.key):
                self._dirty.add(op.key)
        return results

    def _carried(self, key: str) -> bool:
        return bool(self._carry_over) and key.startswith(self._carry_over)

    def _mirror(self, ops: Sequence[Op], results: list[Any]) -> None:
        """Copy to memory what Redis just stored under the carried-over prefixes."""
        if not self._carry_over:
            return
        for op, result in _ran(ops, results):
            if isinstance(op, Set) and self._carried(op.key):
                self.memory.apply(op)
            elif isinstance(op, SetIfAbsent) and result and self._carried(op.key):
                self.memory.apply(Set(op.key, op.value, op.ttl))
            elif isinstance(op, Delete) and self._carried(op.key):
                self.memory.apply(op)


def _ran(ops: Sequence[Op], results: list[Any]) -> Iterator[tuple[Op, Any]]:
    """The operations of a call that ran, with their results (None: not known): up to a refusing
    ``Admit``, then that ``Admit``'s ``otherwise``."""
    for op, result in zip(ops, results):
        if isinstance(op, Admit):
            if not result:
                for other in op.otherwise:
                    yield other, None
                return
            continue
        yield op, result
