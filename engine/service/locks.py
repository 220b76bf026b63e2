"""One message at a time per customer, in this process and across instances.

Inside one process an ``asyncio.Lock`` per customer queues the customer's messages (fairly, and
without hammering Redis); across instances a lock key in the ``Store`` (taken with ``Take``,
released only by its owner's token) makes the other instances wait their turn. The round trip
that takes the turn also runs the message's ``Gate``s (handled already? over the limits?) and
fetches what the turn needs (the session); letting go stores what the turn changed in the same
round trip as the release, and only when the turn ended without an error.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, AsyncIterator, Self, Sequence

from engine.storage.store import (
    Admit,
    KeyedLocks,
    LockTimeout,
    Op,
    Release,
    Store,
    Take,
)

HOLD_SECONDS = 10.0
"""A crashed holder's lock frees itself after this long."""
WAIT_SECONDS = 12.0
"""Give up waiting after this long: longer than ``HOLD_SECONDS``, so the retry of a message whose
instance died holding the turn gets it, and shorter than the 15 s Twilio waits for a webhook."""
POLL = (0.002, 0.02)
"""First and longest pause between two tries while another instance holds the turn."""


@dataclass(frozen=True, slots=True)
class Gate:
    """What a message must pass once its customer's turn is taken: ``checks`` (operations such
    as ``Absent`` and ``Incr`` with a limit, see ``Admit``) run in the round trip that takes the
    turn, only if the gates before passed; when they refuse, ``refused`` runs and the turn is let
    go, in that same round trip."""

    checks: tuple[Op, ...]
    refused: tuple[Op, ...] = ()


class CustomerTurn:
    """A customer's turn, taken by ``async with`` (see ``CustomerLocks.turn``)."""

    def __init__(self, locks: CustomerLocks, customer: str, fetch: Sequence[Op], gates: Sequence[Gate]) -> None:
        self._locks = locks
        self._customer = customer
        self._fetch = fetch
        self._gates = gates
        self._token: str | None = None
        self.checked: list[list[Any]] = []
        """The results of each gate's ``checks``, for the gates that ran."""
        self.admitted = False
        """Whether every gate passed (known once the turn is entered). When one refused, the turn
        was let go at once: nothing is fetched, nothing stored, and the body must do nothing."""
        self.fetched: list[Any] = []
        """The results of the operations asked for with the turn."""
        self.writes: list[Op] = []
        """Operations to run when letting go (before the release, in the same round trip)."""

    def _operations(self, key: str, token: str) -> list[Op]:
        ops: list[Op] = [Take(key, token, self._locks._hold), Admit()]
        for gate in self._gates:
            ops += [*gate.checks, Admit((*gate.refused, Release(key, token)))]
        return [*ops, *self._fetch]

    async def __aenter__(self) -> Self:
        locks, customer = self._locks, self._customer
        loop = asyncio.get_running_loop()
        deadline = loop.time() + locks._wait
        await locks._local.acquire(customer, locks._wait)
        try:
            key, token = CustomerLocks.key(customer), f"{locks._name}:{next(locks._turns)}"
            ops = self._operations(key, token)
            pause, longest = POLL
            while True:
                results = await locks._store.run(ops)
                if results[0]:
                    break
                if loop.time() + pause > deadline:
                    raise LockTimeout(customer)
                await asyncio.sleep(pause)
                pause = min(pause * 2, longest)
        except BaseException:
            locks._local.release(customer)
            raise
        at = 2
        for gate in self._gates:
            self.checked.append(results[at: at + len(gate.checks)])
            at += len(gate.checks)
            if not results[at]:
                return self  # refused: the turn was let go in the same round trip
            at += 1
        self.admitted = True
        self._token = token
        self.fetched = results[at:]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if self._token is not None:
                writes = self.writes if kind is None else []  # a turn that failed changes nothing
                await self._locks._store.run([*writes, Release(CustomerLocks.key(self._customer), self._token)])
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

    @staticmethod
    def key(customer: str) -> str:
        return f"lock:{customer}"

    def turn(self, customer: str, fetch: Sequence[Op] = (), gates: Sequence[Gate] = ()) -> CustomerTurn:
        """Wait for ``customer``'s turn (``LockTimeout`` after the wait), then pass ``gates`` and
        fetch ``fetch`` in the same round trip (see ``CustomerTurn.admitted``)."""
        return CustomerTurn(self, customer, fetch, gates)

    @asynccontextmanager
    async def hold(self, customer: str) -> AsyncIterator[None]:
        """The customer's turn, nothing fetched or stored with it."""
        async with self.turn(customer):
            yield
