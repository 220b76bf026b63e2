"""Answering one delivered message: once, in turn, within the limits, with the session stored.

For each delivery: skip a ``MessageSid`` already seen, apply the rate limits, take the customer's
turn and load the session (one round trip to the store), let the runtime decide, carry out the
effects, store the new session with its expiry and let go of the turn (one), and return the
replies. Messages from the admin's number are commands for the admin desk. Transport-free:
``engine.http.webhook`` does HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from engine.channels.twilio.inbound import Delivery
from engine.logs import safe
from engine.model.effects import Outcome
from engine.model.inbound import Inbound
from engine.model.session import Session
from engine.runtime.flows import Flows
from engine.runtime.handle import handle
from engine.runtime.overrides import OVERRIDES_KEY, Overrides
from engine.runtime.phones import mask
from engine.service.clock import Clock
from engine.service.dedupe import SeenMessages
from engine.service.effects import EffectRunner
from engine.service.locks import CustomerLocks, CustomerTurn
from engine.service.optouts import OptOuts
from engine.service.ratelimit import RateLimiter
from engine.service.sessions import Sessions
from engine.storage.store import Get, Op, Store


class Admin(Protocol):
    """The admin desk (``engine.service.admin.AdminDesk``): what the admin writes are commands."""

    async def answer(self, text: str) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class Runtime:
    """The pure turn, and what it runs with: the flows and the service's clock."""

    flows: Flows
    clock: Clock

    def turn(self, session: Session | None, inbound: Inbound, overrides: Overrides) -> Outcome:
        return handle(self.flows, session, inbound, self.clock(), overrides)


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a message is let in: never seen before, and within the rate limits. Both are
    checked in the store's round trip that takes the customer's turn."""

    store: Store
    seen: SeenMessages
    limiter: RateLimiter
    wait_text: str
    """What a customer over the limit is told, once per window ("" : nothing)."""


@dataclass(frozen=True, slots=True)
class Conversations:
    """Where customers' conversations live between messages, and their turns (one message at a time)."""

    sessions: Sessions
    locks: CustomerLocks
    optouts: OptOuts | None = None
    """Who asked not to be written to: read with the session, changed when it is stored."""


@dataclass(frozen=True, slots=True)
class AdminLine:
    """The admin's WhatsApp: what ``number`` writes goes to ``desk``, never into an order."""

    number: str
    """E.164, as ``Inbound.customer``."""
    desk: Admin
    wrote: Callable[[], Awaitable[None]]
    """Called when the admin writes: WhatsApp's 24-hour window is open again (the outbox's ``wake``)."""


class ChatService:
    """Answers deliveries: the customers' through the runtime, the admin's through the desk."""

    def __init__(
        self,
        runtime: Runtime,
        admission: Admission,
        conversations: Conversations,
        effects: EffectRunner,
        admin: AdminLine | None,
        log: logging.Logger,
    ) -> None:
        self._runtime = runtime
        self._store = admission.store
        self._seen = admission.seen
        self._limiter = admission.limiter
        self._wait_text = admission.wait_text
        self._sessions = conversations.sessions
        self._locks = conversations.locks
        self._optouts = conversations.optouts
        self._effects = effects
        self._admin = admin
        self._log = log

    async def answer(self, delivery: Delivery) -> tuple[str, ...]:
        """The replies to ``delivery`` (none for a repeat, or over the limits past the first notice)."""
        who = safe(mask(delivery.sender))
        customer = delivery.inbound.customer
        sid = delivery.message_sid
        marks = [self._seen.mark(sid)] if sid is not None else []
        admission: list[Op] = [*marks, *self._limiter.count(customer)]
        if self._admin is not None and customer == self._admin.number:
            if marks and not (await self._store.run(admission))[0]:
                return self._duplicate(who)
            try:
                return await self._answer_admin(self._admin, delivery)
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
        fetch: list[Op] = [self._sessions.fetch(customer), Get(OVERRIDES_KEY)]
        if self._optouts is not None:
            fetch.append(self._optouts.fetch(customer))
        turn = self._locks.turn(customer, fetch, admission)
        replies: tuple[str, ...] = ()
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
        return replies

    def _duplicate(self, who: str) -> tuple[str, ...]:
        self._log.info("🔁 Mensaje repetido de %s: ya atendido, se ignora", who)
        return ()

    async def _refusal(
        self, who: str, customer: str, marks: Sequence[Op], admission: list[Any]
    ) -> tuple[str, ...] | None:
        """The answer to a message its ``admission`` results refuse (None: it is let in)."""
        if marks and not admission[0]:
            return self._duplicate(who)
        verdict = await self._limiter.verdict(customer, admission[len(marks):])
        if verdict.allowed:
            return None
        if verdict.notify:
            self._log.warning("🐢 Demasiados mensajes de %s: se le pide esperar", who)
        return (self._wait_text,) if verdict.notify and self._wait_text else ()

    async def _answer_admin(self, admin: AdminLine, delivery: Delivery) -> tuple[str, ...]:
        """The admin's messages are commands, answered in the TwiML reply; never an order."""
        await admin.wrote()  # WhatsApp's 24-hour window is open again: send what waited
        replies = await admin.desk.answer(delivery.inbound.text)
        self._log.info("🛠️ Comando del encargado atendido")
        return replies

    async def _converse(self, delivery: Delivery, who: str, turn: CustomerTurn) -> tuple[str, ...]:
        customer = delivery.inbound.customer
        before = self._sessions.read(turn.fetched[0])
        overrides = Overrides.from_json(turn.fetched[1])
        inbound = delivery.inbound
        if self._optouts is not None and self._optouts.read(turn.fetched[2]):
            inbound = replace(inbound, opted_out=True)
        outcome = self._runtime.turn(before, inbound, overrides)
        outcome = await self._effects.run(outcome, inbound)
        after = outcome.session
        save = self._sessions.store(customer, after)
        turn.writes.append(save)  # stored as the turn ends, in the same round trip
        if self._optouts is not None:
            turn.writes.extend(self._optouts.changes(outcome.effects))
        if before is not None and before.evolve(last_seen=0) == after.evolve(last_seen=0):
            self._log.info("🔄 Actividad renovada para %s", who)
        else:
            self._log.info(
                "✅ Sesión actualizada para %s (paso %s, %d en el carrito, guardada %d min)",
                who, safe(str(after.step), 40), sum(line.quantity or 0 for line in after.cart), save.ttl // 60,
            )
        return outcome.replies
