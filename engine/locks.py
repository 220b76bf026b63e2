"""One message at a time per customer, in this process and across instances.

Inside one process an ``asyncio.Lock`` per customer queues the customer's messages (fairly, and
without hammering Redis); across instances a lock key in the ``Store`` (taken with ``SET NX PX``,
released only by its owner's token) makes the other instances wait their turn. Taking the turn
fetches what the turn needs (the session) in the same round trip, and letting go stores what it
changed in the same round trip as the release.
"""

from __future__ import annotations

import asyncio
import secrets
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Sequence

from engine.store import KeyedLocks, LockTimeout, Op, Release, SetIfAbsent, Store

HOLD_SECONDS = 10.0
"""A crashed holder's lock frees itself after this long."""
WAIT_SECONDS = 10.0
"""Give up waiting after this long (Twilio itself gives up on a webhook after 15 s)."""
POLL = (0.002, 0.02)
"""First and longest pause between two tries while another instance holds the turn."""


@dataclass
class Turn:
    fetched: list[Any]
    """The results of the operations asked for with the turn."""
    writes: list[Op] = field(default_factory=list)
    """Operations to run when letting go (before the release, in the same round trip)."""


class CustomerLocks:
    def __init__(self, store: Store, hold: float = HOLD_SECONDS, wait: float = WAIT_SECONDS) -> None:
        self._store = store
        self._local = KeyedLocks()
        self._hold = hold
        self._wait = wait

    def __len__(self) -> int:
        """Customers with a message being handled or waiting here."""
        return len(self._local)

    @staticmethod
    def key(customer: str) -> str:
        return f"lock:{customer}"

    @asynccontextmanager
    async def turn(self, customer: str, fetch: Sequence[Op] = ()) -> AsyncIterator[Turn]:
        """Wait for ``customer``'s turn (``LockTimeout`` after the wait), fetching ``fetch``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        async with self._local.hold(customer, self._wait):
            key, token = self.key(customer), secrets.token_hex(8)
            pause, longest = POLL
            while True:
                taken, *fetched = await self._store.run([SetIfAbsent(key, token, self._hold), *fetch])
                if taken:
                    break
                if loop.time() + pause > deadline:
                    raise LockTimeout(customer)
                await asyncio.sleep(pause)
                pause = min(pause * 2, longest)
            turn = Turn(fetched)
            try:
                yield turn
            finally:
                await self._store.run([*turn.writes, Release(key, token)])

    @asynccontextmanager
    async def hold(self, customer: str) -> AsyncIterator[None]:
        """The customer's turn, nothing fetched or stored with it."""
        async with self.turn(customer):
            yield
