"""Redis while it answers, memory while it does not, and back to Redis by itself.

A failed Redis call switches the service to its ``MemoryStore`` (logged once per outage); while
degraded, one call every ``probe_every`` seconds tries Redis again, so a dead Redis costs nothing
to the other messages. Keys under the ``carry_over`` prefixes (the sessions, the seen message
ids) are also copied to memory while Redis works, so a conversation goes on when Redis goes
away. When Redis answers again, what was written during the outage is copied back to it, and
the other copies only where Redis lost them (a restarted Redis keeps nothing); then memory is
emptied, so it holds nothing that could later shadow newer data in Redis.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable, TypeVar

from redis.exceptions import LockError, RedisError

from engine.redis_store import RedisStore
from engine.store import MemoryStore

T = TypeVar("T")

#: What a Redis that is down, unreachable or overloaded raises.
REDIS_DOWN = (RedisError, OSError, asyncio.TimeoutError)

CONNECTED = "✅ Redis conectado"
READY = "✅ Redis listo para usar"
UNAVAILABLE = "⚠️ Redis no disponible, usando memoria"
LOST = "⚠️ Se perdió la conexión con Redis, usando memoria mientras vuelve"
BACK = "✅ Redis de vuelta: las sesiones vuelven a Redis"


class FallbackStore:
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
        self._probe_every = probe_every
        self._carry_over = carry_over
        self._monotonic = monotonic
        self._on_redis = False
        self._next_probe = 0.0
        self._dirty: set[str] = set()
        """Carried-over keys written to memory during the current outage."""

    @property
    def mode(self) -> str:
        """``redis`` or ``memory``: where data goes right now."""
        return "redis" if self._on_redis else "memory"

    async def start(self) -> None:
        """Try Redis once and say which store is in use."""
        if self.redis is None:
            self._log.warning(UNAVAILABLE)
            return
        try:
            await self.redis.ping()
            self._log.info(CONNECTED)
            await self.redis.set("ready-check", "1", 10)
            if await self.redis.get("ready-check") != "1":
                raise RedisError("a value written could not be read back")
            await self.redis.delete("ready-check")
        except REDIS_DOWN as error:
            self._log.warning("%s (%s)", UNAVAILABLE, type(error).__name__)
            self._next_probe = self._monotonic() + self._probe_every
            return
        self._on_redis = True
        self._log.info(READY)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.client.aclose()

    async def _use_redis(self) -> bool:
        """True when this call should go to Redis (probing it again when it is time)."""
        if self._on_redis:
            return True
        if self.redis is None or self._monotonic() < self._next_probe:
            return False
        self._next_probe = self._monotonic() + self._probe_every  # other calls skip the probe
        try:
            await self.redis.ping()
            for key, value, ttl in self.memory.entries(self._carry_over):
                if key in self._dirty:  # written during the outage: newer than Redis's copy
                    await self.redis.set(key, value, ttl if ttl is not None else 86400)
                else:  # a copy: restores what an emptied Redis lost, never overwrites
                    await self.redis.set_if_absent(key, value, ttl if ttl is not None else 86400)
        except REDIS_DOWN:
            return False
        self.memory.clear()
        self._dirty.clear()
        self._on_redis = True
        self._log.info(BACK)
        return True

    async def probe(self) -> bool:
        """True when Redis answers now (it is then used again if it was not)."""
        if self._on_redis and self.redis is not None:
            try:
                await self.redis.ping()
                return True
            except REDIS_DOWN as error:
                self._lost(error)
                return False
        return await self._use_redis()

    def _lost(self, error: BaseException) -> None:
        if self._on_redis:
            self._on_redis = False
            self._log.warning("%s (%s)", LOST, type(error).__name__)
        self._next_probe = self._monotonic() + self._probe_every

    async def _call(
        self, key: str, on_redis: Callable[[], Awaitable[T]], on_memory: Callable[[], Awaitable[T]], write: bool
    ) -> T:
        carried = key.startswith(self._carry_over) if self._carry_over else False
        if await self._use_redis():
            try:
                result = await on_redis()
            except REDIS_DOWN as error:
                self._lost(error)
            else:
                if write and carried:
                    await on_memory()  # the copy that keeps conversations going if Redis goes
                return result
        if write and carried:
            self._dirty.add(key)
        return await on_memory()

    async def get(self, key: str) -> str | None:
        return await self._call(key, lambda: self.redis.get(key), lambda: self.memory.get(key), False)  # type: ignore[union-attr]

    async def set(self, key: str, value: str, ttl: float) -> None:
        await self._call(
            key, lambda: self.redis.set(key, value, ttl), lambda: self.memory.set(key, value, ttl), True  # type: ignore[union-attr]
        )

    async def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        carried = key.startswith(self._carry_over) if self._carry_over else False
        if await self._use_redis():
            try:
                stored = await self.redis.set_if_absent(key, value, ttl)  # type: ignore[union-attr]
            except REDIS_DOWN as error:
                self._lost(error)
            else:
                if stored and carried:
                    await self.memory.set(key, value, ttl)
                return stored
        if carried:
            self._dirty.add(key)
        return await self.memory.set_if_absent(key, value, ttl)

    async def incr(self, key: str, ttl: float | None = None) -> int:
        return await self._call(key, lambda: self.redis.incr(key, ttl), lambda: self.memory.incr(key, ttl), True)  # type: ignore[union-attr]

    async def delete(self, key: str) -> None:
        await self._call(key, lambda: self.redis.delete(key), lambda: self.memory.delete(key), True)  # type: ignore[union-attr]

    @asynccontextmanager
    async def lock(self, key: str, ttl: float, wait: float) -> AsyncIterator[None]:
        token: str | None = None
        if self.redis is not None and await self._use_redis():
            try:
                token = await self.redis.acquire(key, ttl, wait)
            except REDIS_DOWN as error:
                self._lost(error)
        if token is None:
            async with self.memory.lock(key, ttl, wait):
                yield
            return
        try:
            yield
        finally:
            try:
                if not await self.redis.release(key, token):
                    self._log.warning("⚠️ Un candado de Redis venció antes de soltarse (%s)", key.split(":")[0])
            except LockError:
                pass
            except REDIS_DOWN as error:
                self._lost(error)
