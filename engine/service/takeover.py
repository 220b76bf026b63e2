"""A person takes a customer over (``#tomar``, a request for a person) and hands them back
(``#soltar``): declared once as ``CustomerTakeover``; ``SessionTakeover`` keeps it in the
customer's session, under the customer's turn, so the bot stays quiet until then."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from engine.model.session import Session
from engine.service.locks import CustomerLocks
from engine.service.sessions import Sessions


class CustomerTakeover(Protocol):
    async def take(self, customer: str, until: datetime) -> None:
        """A person handles ``customer`` until ``until``: the bot stays quiet."""
        ...

    async def release(self, customer: str) -> None: ...


class SessionTakeover:
    """``#tomar`` / ``#soltar``: the customer's session says until when the bot stays quiet."""

    def __init__(self, sessions: Sessions, locks: CustomerLocks, flows_hash: str) -> None:
        self._sessions = sessions
        self._locks = locks
        self._flows_hash = flows_hash

    async def take(self, customer: str, until: datetime) -> None:
        await self._set(customer, int(until.timestamp()))

    async def release(self, customer: str) -> None:
        await self._set(customer, 0)

    async def _set(self, customer: str, quiet_until: int) -> None:
        async with self._locks.hold(customer):
            session = await self._sessions.load(customer) or Session(flows_hash=self._flows_hash)
            await self._sessions.save(customer, session.evolve(quiet_until=quiet_until))
