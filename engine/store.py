"""The service's shared state, declared once: a small key-value store with expiry and locks.

Sessions, seen message ids, rate-limit counters and order numbers all live in a ``Store``.
``engine.redis_store.RedisStore`` shares it between instances; ``MemoryStore`` below keeps it in
this process with the same expiry rules; ``engine.fallback.FallbackStore`` uses Redis while it
answers and memory while it does not.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncContextManager, AsyncIterator, Callable, Iterator, Protocol


class LockTimeout(Exception):
    """Somebody else held the lock for longer than we were willing to wait."""


class Store(Protocol):
    """Strings under keys, each with an expiry in seconds."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl: float) -> None: ...

    async def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        """Store ``value`` only when ``key`` holds nothing; True when it was stored."""
        ...

    async def incr(self, key: str, ttl: float | None = None) -> int:
        """Add one to the number under ``key`` (0 when absent); a new key expires after ``ttl``."""
        ...

    async def delete(self, key: str) -> None: ...

    def lock(self, key: str, ttl: float, wait: float) -> AsyncContextManager[None]:
        """Hold ``key`` exclusively (for at most ``ttl`` s); ``LockTimeout`` after ``wait`` s."""
        ...


class KeyedLocks:
    """One ``asyncio.Lock`` per key, created on demand and dropped when nobody uses it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, key: str, wait: float | None = None) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            try:
                await asyncio.wait_for(lock.acquire(), wait) if wait is not None else await lock.acquire()
            except asyncio.TimeoutError:
                raise LockTimeout(key) from None
            try:
                yield
            finally:
                lock.release()
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class MemoryStore:
    """A ``Store`` in this process's memory, with expiry measured by ``now`` (epoch seconds)."""

    SWEEP_EVERY = 1000
    """Writes between two sweeps of expired keys (reads drop expired keys as they meet them)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._data: dict[str, tuple[str, float | None]] = {}
        self._locks = KeyedLocks()
        self._writes = 0

    def __len__(self) -> int:
        return len(self._data)

    def _live(self, key: str) -> tuple[str, float | None] | None:
        entry = self._data.get(key)
        if entry is not None and entry[1] is not None and entry[1] <= self._now():
            del self._data[key]
            return None
        return entry

    def _write(self, key: str, value: str, ttl: float | None) -> None:
        self._data[key] = (value, None if ttl is None else self._now() + ttl)
        self._writes += 1
        if self._writes % self.SWEEP_EVERY == 0:
            self.sweep()

    def sweep(self) -> None:
        now = self._now()
        for key in [k for k, (_, expires) in self._data.items() if expires is not None and expires <= now]:
            del self._data[key]

    async def get(self, key: str) -> str | None:
        entry = self._live(key)
        return None if entry is None else entry[0]

    async def set(self, key: str, value: str, ttl: float) -> None:
        self._write(key, value, ttl)

    async def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        if self._live(key) is not None:
            return False
        self._write(key, value, ttl)
        return True

    async def incr(self, key: str, ttl: float | None = None) -> int:
        entry = self._live(key)
        if entry is None:
            self._write(key, "1", ttl)
            return 1
        value = int(entry[0]) + 1
        self._data[key] = (str(value), entry[1])
        return value

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    def ttl(self, key: str) -> float | None:
        """Seconds left for ``key`` (None: absent or no expiry)."""
        entry = self._live(key)
        return None if entry is None or entry[1] is None else entry[1] - self._now()

    def lock(self, key: str, ttl: float, wait: float) -> AsyncContextManager[None]:
        return self._locks.hold(key, wait)

    def entries(self, prefixes: tuple[str, ...]) -> Iterator[tuple[str, str, float | None]]:
        """Live ``(key, value, seconds left)`` under any of ``prefixes``."""
        self.sweep()
        now = self._now()
        for key, (value, expires) in list(self._data.items()):
            if key.startswith(prefixes):
                yield key, value, None if expires is None else expires - now

    def clear(self) -> None:
        self._data.clear()
