"""Rate limits for the webhook: per customer and for the whole bot, shared through the ``Store``.

Counts are kept per fixed one-minute window (``INCR`` on a key that expires with its window), so
every instance sharing Redis counts together. Twilio takes no 429 from a webhook: a message over
a limit gets a 200 with one short "espera un momento" (once per customer and window) and then
empty answers until the window ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from engine.store import Store

WAIT_TEXT = "⏳ Espera un momento, por favor: recibimos muchos mensajes seguidos. Vuelve a escribir en un minuto."


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    """Handle the message."""
    notify: bool = False
    """Not handled, and this is the first refusal of the window: tell the customer to wait."""


ALLOWED = Verdict(True)


class RateLimiter:
    def __init__(
        self,
        store: Store,
        per_customer: int,
        overall: int,
        now: Callable[[], float],
        window: int = 60,
    ) -> None:
        """Limits per ``window`` seconds (0: no limit); ``now`` gives epoch seconds."""
        self._store = store
        self._per_customer = per_customer
        self._overall = overall
        self._now = now
        self._window = window

    async def check(self, customer: str) -> Verdict:
        """Count one message from ``customer`` and say whether to handle it."""
        window = int(self._now()) // self._window
        ttl = self._window + 5  # outlives its window a little, whatever the clocks' drift
        if self._per_customer:
            count = await self._store.incr(f"rl:c:{customer}:{window}", ttl)
            if count > self._per_customer:
                return Verdict(False, notify=count == self._per_customer + 1)
        if self._overall:
            count = await self._store.incr(f"rl:all:{window}", ttl)
            if count > self._overall:
                first = await self._store.set_if_absent(f"rl:told:{customer}:{window}", "1", ttl)
                return Verdict(False, notify=first)
        return ALLOWED
