"""One message at a time per customer, in this process and across instances.

Inside one process an ``asyncio.Lock`` per customer queues the customer's messages (fairly, and
without hammering Redis); across instances a lock key in the ``Store`` (taken with ``SET NX PX``,
released only by its owner's token) makes the other instances wait their turn. Taking the turn
runs the message's admission and fetches what the turn needs (the session) in the same round
trip, and letting go stores what it changed in the same round trip as the release.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, AsyncIterator, Self, Sequence

from engine.storage.store import (
    Admit,
    KeyedLocks,
    LockTimeout,
    Op,
    Release,
    SetIfAbsent,
    Store,
)

HOLD_SECONDS = 10.0
"""A crashed holder's lock frees itself after this long."""
WAIT_SECONDS = 10.0
"""Give up waiting after this long (Twilio itself gives up on a webhook after 15 s)."""
POLL = (0.002, 0.02)
"""First and longest pause between two tries while another instance holds the turn."""


class CustomerTurn:
    """A customer's turn, taken by ``async with`` (see ``CustomerLocks.turn``)."""

    def __init__(self, locks: CustomerLocks, customer: str, fetch: Sequence[Op], admit: Sequence[Op]) -> None:
        self._locks = locks
        self._customer = customer
        self._fetch = fetch
        self._admit = admit
        self._token: str | None = None
        self.admission: list[Any] = []
        """The results of the ``admit`` operations (once they have run)."""
        self.admitted: bool | None = None if admit else True
        """Whether the admission let the message in (None: not known yet). When it did not, the
        turn was not taken: nothing is fetched, nothing stored, and the body must do nothing."""
        self.fetched: list[Any] = []
        """The results of the operations asked for with the turn."""
        self.writes: list[Op] = []
        """Operations to run when letting go (before the release, in the same round trip)."""

    async def __aenter__(self) -> Self:
        locks, customer = self._locks, self._customer
        store, hold, wait = locks._store, locks._hold, locks._wait
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        await locks._local.acquire(customer, wait)
        try:
            key, token = CustomerLocks.key(customer), f"{locks._name}:{next(locks._turns)}"
            first: list[Op] = [*self._admit, Admit()] if self._admit else []
            pause, longest = POLL
            while True:
                results = await store.run([*first, SetIfAbsent(key, token, hold), *self._fetch])
                if first:  # the first try carries the admission; a refusal takes no turn
                    self.admission = results[: len(self._admit)]
                    self.admitted = bool(results[len(self._admit)])
                    if not self.admitted:
                        return self
                    results = results[len(first):]
                    first = []
                if results[0]:
                    break
                if loop.time() + pause > deadline:
                    raise LockTimeout(customer)
                await asyncio.sleep(pause)
                pause = min(pause * 2, longest)
        except BaseException:
            locks._local.release(customer)
            raise
        self._token = token
        self.fetched = results[1:]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if self._token is not None:
                await self._locks._store.run([*self.writes, Release(CustomerLocks.key(self._customer), self._token)])
        finally:
            self._locks._local.release(self._customer)


class CustomerLocks:
    def __init__(self, store: Store, hold: float = HOLD_SECONDS, wait: float = WAIT_SECONDS) -> None:
        self._store = store
        self._local = KeyedLocks()
        self._hold = hold
        self._wait = wait
        self._name = secrets.token_hex(8)
        self._turns = itertools.count()
        """A lock's token: this instance's random name and a count, unique without a syscall per turn."""

    def __len__(self) -> int:
        """Customers with a message being handled or waiting here."""
        return len(self._local)

    def busy(self, customer: str) -> bool:
        """Whether a message of ``customer`` is being handled or waiting here."""
        return customer in self._local

    @staticmethod
    def key(customer: str) -> str:
        return f"lock:{customer}"

    def turn(self, customer: str, fetch: Sequence[Op] = (), admit: Sequence[Op] = ()) -> CustomerTurn:
        """Wait for ``customer``'s turn (``LockTimeout`` after the wait), fetching ``fetch``.

        ``admit`` (operations such as ``SetIfAbsent`` and ``Incr`` with a limit, see ``Admit``) run
        first, in the same round trip; when they refuse, no turn is taken (``CustomerTurn.admitted``)."""
        return CustomerTurn(self, customer, fetch, admit)

    @asynccontextmanager
    async def hold(self, customer: str) -> AsyncIterator[None]:
        """The customer's turn, nothing fetched or stored with it."""
        async with self.turn(customer):
            yield
