"""The service's shared state, declared once: a small key-value store with expiry.

Sessions, handled message ids and their replies, rate-limit counters and locks all live in a ``Store``.
``engine.redis_store.RedisStore`` shares it between instances; ``MemoryStore`` below keeps it in
this process with the same expiry rules; ``engine.fallback.FallbackStore`` uses Redis while it
answers and memory while it does not.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Iterator, Protocol, Sequence, Union


class LockTimeout(Exception):
    """Somebody else held the lock for longer than we were willing to wait."""


@dataclass(frozen=True, slots=True)
class Get:
    key: str


@dataclass(frozen=True, slots=True)
class Set:
    key: str
    value: str
    ttl: float


@dataclass(frozen=True, slots=True)
class SetIfAbsent:
    """Store only when the key holds nothing; the result says whether it was stored."""

    key: str
    value: str
    ttl: float


@dataclass(frozen=True, slots=True)
class Incr:
    """Add one (from 0 when absent); a new key expires after ``ttl``; the result is the count."""

    key: str
    ttl: float | None = None
    limit: int | None = None
    """For a later ``Admit``: a count above ``limit`` refuses the call."""


@dataclass(frozen=True, slots=True)
class Delete:
    key: str


@dataclass(frozen=True, slots=True)
class Take:
    """A lock: store ``token`` when ``key`` holds nothing or holds ``token`` already (the same call
    run twice, as a client's retry does); the result says whether the caller holds it now."""

    key: str
    token: str
    ttl: float


@dataclass(frozen=True, slots=True)
class Release:
    """Delete ``key`` only while it still holds ``token`` (a lock's owner letting go)."""

    key: str
    token: str


@dataclass(frozen=True, slots=True)
class Absent:
    """Read ``key``, which must hold nothing for a later ``Admit`` to go on; the result is what
    it holds (None: nothing)."""

    key: str


@dataclass(frozen=True, slots=True)
class Admit:
    """Go on with the call only if every operation before it admits: each ``SetIfAbsent`` stored
    its value, each ``Take`` holds its lock, each ``Absent`` found nothing and each ``Incr`` stayed
    within its ``limit``. The result says whether the call went on; after a refusal the operations
    of ``otherwise`` run (their results are not given), nothing more runs, and the results of the
    operations left are None.

    So a message's admission (its turn taken, its id not handled yet, its rate limits) and what
    follows it (reading the session) share one round trip, and so does what a refusal writes."""

    otherwise: tuple[Op, ...] = ()
    """Writes (``Set``, ``Delete``, ``Release``...) to carry out only when refusing."""


Op = Union[Get, Set, SetIfAbsent, Incr, Delete, Take, Release, Absent, Admit]
WRITES = (Set, SetIfAbsent, Incr, Delete, Take, Release)


def admits(op: Op, result: Any) -> bool:
    """Whether ``op``, having given ``result``, lets a later ``Admit`` go on."""
    if isinstance(op, (SetIfAbsent, Take)):
        return bool(result)
    if isinstance(op, Absent):
        return result is None
    if isinstance(op, Incr):
        return op.limit is None or result <= op.limit
    return True


class Store(Protocol):
    """Strings under keys, each with an expiry in seconds.

    ``run`` carries out several operations in order and atomically, in one round trip (a message
    needs two: taking the customer's turn with the message's admission and reading the session,
    then storing the outcome, marking the message handled and letting go). The others are
    shortcuts for a single operation.
    """

    async def run(self, ops: Sequence[Op]) -> list[Any]:
        """The result of each operation, in order (``Set``/``Delete``: None; ``Take``, ``Release``: bool)."""
        ...

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl: float) -> None: ...

    async def set_if_absent(self, key: str, value: str, ttl: float) -> bool: ...

    async def incr(self, key: str, ttl: float | None = None) -> int: ...

    async def delete(self, key: str) -> None: ...


class Shortcuts:
    """The single-operation methods of ``Store``, for any class that has ``run``."""

    async def run(self, ops: Sequence[Op]) -> list[Any]:
        raise NotImplementedError

    async def get(self, key: str) -> str | None:
        value: str | None = (await self.run([Get(key)]))[0]
        return value

    async def set(self, key: str, value: str, ttl: float) -> None:
        await self.run([Set(key, value, ttl)])

    async def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        return bool((await self.run([SetIfAbsent(key, value, ttl)]))[0])

    async def incr(self, key: str, ttl: float | None = None) -> int:
        return int((await self.run([Incr(key, ttl)]))[0])

    async def delete(self, key: str) -> None:
        await self.run([Delete(key)])


class KeyedLocks:
    """One ``asyncio.Lock`` per key, created on demand and dropped when nobody uses it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    def __contains__(self, key: str) -> bool:
        """Whether ``key``'s lock is held or awaited here."""
        return key in self._locks

    async def acquire(self, key: str, wait: float | None = None) -> None:
        """Wait for ``key``'s lock (``LockTimeout`` after ``wait`` seconds, if given); see ``release``."""
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            if not lock.locked() or wait is None:
                await lock.acquire()
            else:
                try:
                    async with asyncio.timeout(wait):
                        await lock.acquire()
                except TimeoutError:
                    raise LockTimeout(key) from None
        except BaseException:
            self._leave(key)
            raise

    def release(self, key: str) -> None:
        self._locks[key][0].release()
        self._leave(key)

    def _leave(self, key: str) -> None:
        lock, users = self._locks[key]
        if users == 1:
            del self._locks[key]
        else:
            self._locks[key] = (lock, users - 1)

    @asynccontextmanager
    async def hold(self, key: str, wait: float | None = None) -> AsyncIterator[None]:
        await self.acquire(key, wait)
        try:
            yield
        finally:
            self.release(key)


@dataclass(frozen=True, slots=True)
class Bound:
    """A limit on what a ``MemoryStore`` keeps under some prefixes (its process's memory is small
    and shared with everything else): each key at most ``seconds``, and at most ``count`` such keys
    (the oldest written go first)."""

    prefixes: tuple[str, ...]
    seconds: float
    count: int


class MemoryStore(Shortcuts):
    """A ``Store`` in this process's memory, with expiry measured by ``now`` (epoch seconds);
    keys under a bound's prefixes are kept no longer, and no more, than it says (the first bound
    whose prefixes a key has is its bound)."""

    SWEEP_EVERY = 1000
    """Writes between two sweeps of expired keys (reads drop expired keys as they meet them)."""

    def __init__(self, now: Callable[[], float], *bounds: Bound) -> None:
        self._now = now
        self._data: dict[str, tuple[str, float | None]] = {}
        self._writes = 0
        self._bounds = bounds
        self._prefixes = tuple(prefix for bound in bounds for prefix in bound.prefixes)
        """Every bound's prefixes: a key under none of them is written without looking further."""
        self._bounded: tuple[OrderedDict[str, float], ...] = tuple(OrderedDict() for _ in bounds)
        """For each bound, its keys and their expiry, the least recently written first."""

    def __len__(self) -> int:
        return len(self._data)

    def _live(self, key: str) -> tuple[str, float | None] | None:
        entry = self._data.get(key)
        if entry is not None and entry[1] is not None and entry[1] <= self._now():
            del self._data[key]
            return None
        return entry

    def _write(self, key: str, value: str, ttl: float | None) -> None:
        if self._prefixes and key.startswith(self._prefixes):
            index = next(n for n, bound in enumerate(self._bounds) if key.startswith(bound.prefixes))
            bound = self._bounds[index]
            ttl = bound.seconds if ttl is None else min(ttl, bound.seconds)
            expires = self._now() + ttl
            self._data[key] = (value, expires)
            self._keep_within(bound, self._bounded[index], key, expires)
        else:
            self._data[key] = (value, None if ttl is None else self._now() + ttl)
        self._writes += 1
        if self._writes % self.SWEEP_EVERY == 0:
            self.sweep()

    def _keep_within(self, bound: Bound, bounded: OrderedDict[str, float], key: str, expires: float) -> None:
        bounded[key] = expires
        bounded.move_to_end(key)
        now = self._now()
        while bounded and (len(bounded) > bound.count or next(iter(bounded.values())) <= now):
            old, _ = bounded.popitem(last=False)
            self._data.pop(old, None)

    def sweep(self) -> None:
        now = self._now()
        for key in [k for k, (_, expires) in self._data.items() if expires is not None and expires <= now]:
            del self._data[key]

    async def run(self, ops: Sequence[Op]) -> list[Any]:
        results: list[Any] = []
        admitted = True
        for op in ops:
            if isinstance(op, Admit):
                results.append(admitted)
                if not admitted:
                    for other in op.otherwise:
                        self.apply(other)
                    return results + [None] * (len(ops) - len(results))
                continue
            result = self.apply(op)
            results.append(result)
            admitted = admitted and admits(op, result)
        return results

    def apply(self, op: Op) -> Any:
        if isinstance(op, Get):
            entry = self._live(op.key)
            return None if entry is None else entry[0]
        if isinstance(op, Absent):
            entry = self._live(op.key)
            return None if entry is None else entry[0]
        if isinstance(op, Set):
            self._write(op.key, op.value, op.ttl)
            return None
        if isinstance(op, SetIfAbsent):
            if self._live(op.key) is not None:
                return False
            self._write(op.key, op.value, op.ttl)
            return True
        if isinstance(op, Take):
            entry = self._live(op.key)
            if entry is not None and entry[0] != op.token:
                return False
            self._write(op.key, op.token, op.ttl)
            return True
        if isinstance(op, Incr):
            entry = self._live(op.key)
            if entry is None:
                self._write(op.key, "1", op.ttl)
                return 1
            value = int(entry[0]) + 1
            self._data[op.key] = (str(value), entry[1])
            return value
        if isinstance(op, Delete):
            self._data.pop(op.key, None)
            return None
        if isinstance(op, Release):
            entry = self._live(op.key)
            if entry is None or entry[0] != op.token:
                return False
            del self._data[op.key]
            return True
        raise TypeError(f"not a store operation: {op!r}")

    def ttl(self, key: str) -> float | None:
        """Seconds left for ``key`` (None: absent or no expiry)."""
        entry = self._live(key)
        return None if entry is None or entry[1] is None else entry[1] - self._now()

    def entries(self, prefixes: tuple[str, ...]) -> Iterator[tuple[str, str, float | None]]:
        """Live ``(key, value, seconds left)`` under any of ``prefixes``."""
        self.sweep()
        now = self._now()
        for key, (value, expires) in list(self._data.items()):
            if key.startswith(prefixes):
                yield key, value, None if expires is None else expires - now

    def clear(self) -> None:
        self._data.clear()
        for bounded in self._bounded:
            bounded.clear()
