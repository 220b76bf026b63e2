"""One message at a time per customer, in this process and across instances.

Inside one process an ``asyncio.Lock`` per customer queues the customer's messages (fairly, and
without hammering Redis); across instances the ``Store``'s lock (a Redis key taken with
``SET NX PX`` and released only by its owner) makes the other instances wait their turn.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from engine.store import KeyedLocks, Store

HOLD_SECONDS = 10.0
"""A crashed holder's lock frees itself after this long."""
WAIT_SECONDS = 10.0
"""Give up waiting after this long (Twilio itself gives up on a webhook after 15 s)."""


class CustomerLocks:
    def __init__(self, store: Store, hold: float = HOLD_SECONDS, wait: float = WAIT_SECONDS) -> None:
        self._store = store
        self._local = KeyedLocks()
        self._hold = hold
        self._wait = wait

    def __len__(self) -> int:
        """Customers with a message being handled or waiting here."""
        return len(self._local)

    @asynccontextmanager
    async def hold(self, customer: str) -> AsyncIterator[None]:
        """Wait for ``customer``'s turn; ``engine.store.LockTimeout`` after the wait."""
        async with self._local.hold(customer, self._wait):
            async with self._store.lock(f"lock:{customer}", self._hold, self._wait):
                yield
