"""Answering one delivered message: once, in turn, within the limits, with the session stored.

For each delivery: skip a ``MessageSid`` already seen, apply the rate limits, take the customer's
turn and load the session (one round trip to the store), let the runtime decide, carry out the
effects, store the new session with its expiry and let go of the turn (one), and return the
replies. Transport-free: ``engine.server`` does HTTP.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Awaitable, Callable, Protocol

from engine.channels.twilio.inbound import Delivery
from engine.logs import safe
from engine.model.effects import Outcome
from engine.model.inbound import Inbound
from engine.model.session import Session
from engine.runtime.overrides import OVERRIDES_KEY, Overrides
from engine.runtime.phones import mask
from engine.service.clock import Clock
from engine.service.dedupe import SeenMessages
from engine.service.effects import EffectRunner
from engine.service.locks import CustomerLocks, CustomerTurn
from engine.service.ratelimit import RateLimiter
from engine.service.sessions import Sessions
from engine.storage.store import Get, Op, Store

Handle = Callable[[Any, "Session | None", Inbound, datetime, Overrides], Outcome]
"""``engine.runtime.handle``: (flows, session, inbound, now, overrides) -> outcome."""


class Admin(Protocol):
    """The admin desk (``engine.admin.AdminDesk``): what the admin writes are commands."""

    async def answer(self, text: str) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class Answer:
    replies: tuple[str, ...]
    status: str
    """``handled``, ``admin`` (a command), ``duplicate`` (seen before: nothing done) or ``limited``."""


class ChatService:
    def __init__(
        self,
        flows: Any,
        handle: Handle,
        clock: Clock,
        store: Store,
        sessions: Sessions,
        locks: CustomerLocks,
        seen: SeenMessages,
        limiter: RateLimiter,
        effects: EffectRunner,
        log: logging.Logger,
        wait_text: str = "",
        admin_number: str | None = None,
        admin: Admin | None = None,
        admin_wrote: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._admin_number = admin_number
        self._admin = admin
        self._admin_wrote = admin_wrote
        self.flows = flows
        self._handle = handle
        self._clock = clock
        self._store = store
        self._sessions = sessions
        self._locks = locks
        self._seen = seen
        self._limiter = limiter
        self._effects = effects
        self._log = log
        self._wait_text = wait_text

    async def answer(self, delivery: Delivery) -> Answer:
        who = safe(mask(delivery.sender))
        customer = delivery.inbound.customer
        sid = delivery.message_sid
        marks = [self._seen.mark(sid)] if sid is not None else []
        admission: list[Op] = [*marks, *self._limiter.count(customer)]
        if self._admin is not None and customer == self._admin_number:
            if marks and not (await self._store.run(admission))[0]:
                return self._duplicate(who)
            try:
                return await self._answer_admin(delivery)
            except Exception:
                if sid is not None:
                    await self._seen.forget(sid)  # the command may be sent again
                raise
        if self._locks.busy(customer):
            # Another message of this customer is being answered here: a repeat or a message over
            # the limits is answered now, not after waiting for that one.
            refusal = await self._refusal(who, customer, marks, await self._store.run(admission))
            if refusal is not None:
                return refusal
            admission = []
        turn = self._locks.turn(customer, [self._sessions.fetch(customer), Get(OVERRIDES_KEY)], admission)
        try:
            async with turn:
                if turn.admitted:
                    replies = await self._converse(delivery, who, turn)
        except Exception:
            if sid is not None and turn.admitted:
                await self._seen.forget(sid)  # let Twilio's retry be handled
            raise
        if not turn.admitted:
            refusal = await self._refusal(who, customer, marks, turn.admission)
            if refusal is None:
                raise RuntimeError("the store refused a message the rate limiter lets in")
            return refusal
        return Answer(replies, "handled")

    def _duplicate(self, who: str) -> Answer:
        self._log.info("🔁 Mensaje repetido de %s: ya atendido, se ignora", who)
        return Answer((), "duplicate")

    async def _refusal(self, who: str, customer: str, marks: list[Any], admission: list[Any]) -> Answer | None:
        """The answer to a message its ``admission`` results refuse (None: it is let in)."""
        if marks and not admission[0]:
            return self._duplicate(who)
        verdict = await self._limiter.verdict(customer, admission[len(marks):])
        if verdict.allowed:
            return None
        if verdict.notify:
            self._log.warning("🐢 Demasiados mensajes de %s: se le pide esperar", who)
        return Answer((self._wait_text,) if verdict.notify and self._wait_text else (), "limited")

    async def _answer_admin(self, delivery: Delivery) -> Answer:
        """The admin's messages are commands, answered in the TwiML reply; never an order."""
        assert self._admin is not None
        if self._admin_wrote is not None:
            await self._admin_wrote()  # WhatsApp's 24-hour window is open again: send what waited
        replies = await self._admin.answer(delivery.inbound.text)
        self._log.info("🛠️ Comando del encargado atendido")
        return Answer(replies, "admin")

    async def _converse(self, delivery: Delivery, who: str, turn: CustomerTurn) -> tuple[str, ...]:
        customer = delivery.inbound.customer
        before = self._sessions.read(turn.fetched[0])
        overrides = Overrides.from_json(turn.fetched[1])
        outcome = self._handle(self.flows, before, delivery.inbound, self._clock(), overrides)
        outcome = await self._effects.run(outcome, delivery.inbound)
        after: Session = outcome.session
        save = self._sessions.store(customer, after)
        turn.writes.append(save)  # stored as the turn ends, in the same round trip
        if before is not None and before.evolve(last_seen=0) == after.evolve(last_seen=0):
            self._log.info("🔄 Actividad renovada para %s", who)
        else:
            self._log.info(
                "✅ Sesión actualizada para %s (paso %s, %d en el carrito, guardada %d min)",
                who, safe(str(after.step), 40), sum(line.quantity or 0 for line in after.cart), save.ttl // 60,
            )
        return outcome.replies
