"""Rate limits for the webhook: per customer and for the whole bot, shared through the ``Store``.

Counts are kept per fixed one-minute window (``INCR`` on a key that expires with its window), so
every instance sharing Redis counts together; every message counts towards the overall limit,
even one refused for its sender's limit. A repeated delivery of a message counts towards
neither: the limits are a ``Gate`` passed after the one that recognises repeats
(``engine.service.dedupe``). Twilio takes no 429 from a webhook: a message over a limit gets a
200 with one short "espera un momento" (once per customer and window) and then empty answers
until the window ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from engine.service.locks import Gate
from engine.storage.store import Incr, Op, Store


@dataclass(frozen=True, slots=True)
class RateVerdict:
    allowed: bool
    """Handle the message."""
    notify: bool = False
    """Not handled, and this is the first refusal of the window: tell the customer to wait."""


ALLOWED = RateVerdict(True)


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

    def count(self, customer: str) -> list[Incr]:
        """The operations counting one message from ``customer`` (see ``verdict``); each carries
        its limit, so an ``Admit`` after them goes on only when ``verdict`` would allow."""
        window = int(self._now()) // self._window
        ttl = self._window + 5  # outlives its window a little, whatever the clocks' drift
        ops = []
        if self._per_customer:
            ops.append(Incr(f"rl:c:{customer}:{window}", ttl, self._per_customer))
        if self._overall:
            ops.append(Incr(f"rl:all:{window}", ttl, self._overall))
        return ops

    def gate(self, customer: str, refused: tuple[Op, ...] = ()) -> Gate:
        """The limits as a gate of the customer's turn (``refused`` runs when they refuse)."""
        return Gate(tuple(self.count(customer)), refused)

    async def verdict(self, customer: str, counts: list[int]) -> RateVerdict:
        """Whether to handle the message, from the results of ``count``."""
        remaining = iter(counts)
        if self._per_customer:
            mine = next(remaining)
            if mine > self._per_customer:
                return RateVerdict(False, notify=mine == self._per_customer + 1)
        if self._overall and next(remaining) > self._overall:
            window = int(self._now()) // self._window
            first = await self._store.set_if_absent(f"rl:told:{customer}:{window}", "1", self._window + 5)
            return RateVerdict(False, notify=first)
        return ALLOWED
