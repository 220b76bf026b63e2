"""Customers' sessions in the ``Store``: one key per customer, a sliding expiry.

An idle conversation is forgotten after ``session_minutes`` (renewed on every message). A session
holding an unfinished cart is kept a day instead, so the runtime (which decides expiry itself
from ``Session.last_seen``) can offer the cart back when the customer returns.
"""

from __future__ import annotations

from engine.model.session import Session
from engine.storage.store import Bound, Get, Set, Store

CART_KEPT_SECONDS = 24 * 3600


class Sessions:
    def __init__(self, store: Store, session_minutes: int, cart_kept_seconds: int = CART_KEPT_SECONDS) -> None:
        self._store = store
        self.session_seconds = session_minutes * 60
        self.cart_kept_seconds = max(cart_kept_seconds, self.session_seconds)

    @staticmethod
    def key(customer: str) -> str:
        return f"s:{customer}"

    def ttl(self, session: Session) -> int:
        """How long to keep ``session`` after this message."""
        base = self.session_seconds if not session.cart and not session.pending else self.cart_kept_seconds
        # A person who took over must find the bot still quiet, however long the customer is silent.
        return max(base, session.quiet_until - session.last_seen)

    def fetch(self, customer: str) -> Get:
        """The operation reading ``customer``'s session (see ``read``)."""
        return Get(self.key(customer))

    @staticmethod
    def read(raw: str | None) -> Session | None:
        """The session in what ``fetch`` returned (None: absent, expired, unreadable, old format)."""
        return None if raw is None else Session.from_json(raw)

    def store(self, customer: str, session: Session) -> Set:
        """The operation storing ``session`` with its renewed expiry."""
        return Set(self.key(customer), session.to_json(), self.ttl(session))

    async def load(self, customer: str) -> Session | None:
        return self.read(await self._store.get(self.key(customer)))

    async def save(self, customer: str, session: Session) -> int:
        """Store ``session`` and renew its expiry; the expiry in seconds."""
        op = self.store(customer, session)
        await self._store.run([op])
        return int(op.ttl)


SESSIONS_IN_MEMORY = Bound(prefixes=(Sessions.key(""),), seconds=CART_KEPT_SECONDS, count=2_000)
"""The sessions kept in the process's memory beside Redis (see ``engine.storage.fallback``): the
2,000 most recently written, each no longer than a day. Enough for every conversation going on
at a restaurant's busiest hour to carry on while Redis is away (≈ 1.5 MB), and the service's
memory stays flat however many customers write in a day."""

