"""Customers who asked not to be written to ("STOP", "baja"): the service sends them nothing on its
own (order updates, a number saved later) until they write again.

The runtime says so with its effects (``OptOut`` when they ask, ``OptIn`` when a customer so
marked writes again); the mark lives in the ``Store``, one key per customer, read in the same
round trip as the session and changed in the one that stores it.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.model.effects import Effect, OptIn, OptOut
from engine.runtime.phones import normalise_whatsapp
from engine.storage.store import Delete, Get, Op, Set, Store

KEPT_SECONDS = 400 * 86400
"""How long a mark lasts without news from the customer (a store needs an expiry)."""


class OptOuts:
    def __init__(self, store: Store, kept_seconds: int = KEPT_SECONDS) -> None:
        self._store = store
        self._kept = kept_seconds

    @staticmethod
    def key(customer: str) -> str:
        return f"optout:{normalise_whatsapp(customer)}"

    def fetch(self, customer: str) -> Get:
        """The operation reading ``customer``'s mark (see ``read``)."""
        return Get(self.key(customer))

    @staticmethod
    def read(raw: str | None) -> bool:
        return raw is not None

    def changes(self, effects: Iterable[Effect]) -> list[Op]:
        """The writes ``effects`` ask for: the mark set (``OptOut``) or lifted (``OptIn``)."""
        found: list[Op] = []
        for effect in effects:
            if isinstance(effect, OptOut):
                found.append(Set(self.key(effect.customer), "1", self._kept))
            elif isinstance(effect, OptIn):
                found.append(Delete(self.key(effect.customer)))
        return found

    async def holds(self, customer: str) -> bool:
        """Whether ``customer`` asked not to be written to."""
        return self.read(await self._store.get(self.key(customer)))
