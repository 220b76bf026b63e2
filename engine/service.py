"""Answering one delivered message: once, in turn, within the limits, with the session stored.

For each delivery: skip a ``MessageSid`` already seen, apply the rate limits, wait for the
customer's turn, load the session, let the runtime decide, carry out the effects, store the new
session with its expiry, and return the replies. Transport-free: ``engine.server`` does HTTP.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from engine.clock import Clock
from engine.dedupe import SeenMessages
from engine.effects import EffectRunner
from engine.locks import CustomerLocks
from engine.logs import safe
from engine.messages import Inbound, Outcome
from engine.phones import mask
from engine.ratelimit import WAIT_TEXT, RateLimiter
from engine.session import Session
from engine.sessions import Sessions
from engine.webhook import Delivery

Handle = Callable[[Any, "Session | None", Inbound, datetime], Outcome]
"""``engine.runtime.handle``: (flows, session, inbound, now) -> outcome."""


@dataclass(frozen=True, slots=True)
class Answer:
    replies: tuple[str, ...]
    status: str
    """``handled``, ``duplicate`` (seen before: nothing done) or ``limited`` (over a rate limit)."""


class ChatService:
    def __init__(
        self,
        flows: Any,
        handle: Handle,
        clock: Clock,
        sessions: Sessions,
        locks: CustomerLocks,
        seen: SeenMessages,
        limiter: RateLimiter,
        effects: EffectRunner,
        log: logging.Logger,
        wait_text: str = WAIT_TEXT,
    ) -> None:
        self.flows = flows
        self._handle = handle
        self._clock = clock
        self._sessions = sessions
        self._locks = locks
        self._seen = seen
        self._limiter = limiter
        self._effects = effects
        self._log = log
        self._wait_text = wait_text

    async def answer(self, delivery: Delivery) -> Answer:
        who = safe(mask(delivery.sender))
        sid = delivery.message_sid
        if sid is not None and not await self._seen.first_time(sid):
            self._log.info("🔁 Mensaje repetido de %s: ya atendido, se ignora", who)
            return Answer((), "duplicate")
        verdict = await self._limiter.check(delivery.inbound.customer)
        if not verdict.allowed:
            if verdict.notify:
                self._log.warning("🐢 Demasiados mensajes de %s: se le pide esperar", who)
            return Answer((self._wait_text,) if verdict.notify else (), "limited")
        try:
            async with self._locks.hold(delivery.inbound.customer):
                replies = await self._converse(delivery, who)
        except Exception:
            if sid is not None:
                await self._seen.forget(sid)  # let Twilio's retry be handled
            raise
        return Answer(replies, "handled")

    async def _converse(self, delivery: Delivery, who: str) -> tuple[str, ...]:
        customer = delivery.inbound.customer
        before = await self._sessions.load(customer)
        outcome = self._handle(self.flows, before, delivery.inbound, self._clock())
        outcome = await self._effects.run(outcome, delivery.inbound)
        after: Session = outcome.session
        ttl = await self._sessions.save(customer, after)
        if before is not None and before.evolve(last_seen=0) == after.evolve(last_seen=0):
            self._log.info("🔄 Actividad renovada para %s", who)
        else:
            self._log.info(
                "✅ Sesión actualizada para %s (paso %s, %d en el carrito, guardada %d min)",
                who, safe(str(after.step), 40), sum(line.quantity or 0 for line in after.cart), ttl // 60,
            )
        return outcome.replies
