"""Answering one delivered message: once, in turn, within the limits, with the outcome stored.

For each delivery: take the customer's turn, and in the same round trip to the store pass the
message's gates (not handled before, then within the rate limits) and load the session; let the
runtime decide and carry out the effects; then, in one round trip, store the new session, mark
the message handled with its replies and let go of the turn; return the replies. A message
counts as handled only there: if the process dies before, nothing says so, and Twilio's retry is
handled from the session as it was (the effects are idempotent: an order on its key, a notice on
the event's id). A repeat gets the replies of the first delivery and counts against no limit.
Messages from the admin's number are commands for the admin desk, one at a time. Transport-free:
``engine.http.webhook`` does HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
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
from engine.service.buttons import ButtonTurns
from engine.service.clock import Clock
from engine.service.dedupe import SeenMessages
from engine.service.effects import EffectRunner
from engine.service.locks import CustomerLocks, CustomerTurn, Gate
from engine.service.optouts import OptOuts
from engine.service.ratelimit import RateLimiter
from engine.service.sessions import Sessions
from engine.storage.store import Get, Op


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
    """Whether a message is let in: not handled before, and within the rate limits. Both are gates
    of the customer's turn, repeats first, so a repeat counts against no limit."""

    seen: SeenMessages
    limiter: RateLimiter
    wait_text: str
    """What a customer over the limit is told, once per window ("" : nothing)."""

    def gates(self, customer: str, message_sid: str | None) -> list[Gate]:
        """The gates of a message from ``customer`` (without an id, only the limits)."""
        if message_sid is None:
            return [self.limiter.gate(customer)]
        return [self.seen.gate(message_sid), self.limiter.gate(customer, self.seen.refused(message_sid))]


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


ADMIN_TURN = "admin"
"""The admin's commands take turns of their own (one at a time), not a customer's: a command such
as taking a customer over takes that customer's turn."""


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
        buttons: ButtonTurns | None = None,
    ) -> None:
        self._runtime = runtime
        self._admission = admission
        self._seen = admission.seen
        self._limiter = admission.limiter
        self._wait_text = admission.wait_text
        self._sessions = conversations.sessions
        self._locks = conversations.locks
        self._optouts = conversations.optouts
        self._effects = effects
        self._admin = admin
        self._log = log
        self._buttons = buttons
        """Sends a turn that ends on a question with buttons through the outbox (None: all TwiML)."""

    async def answer(self, delivery: Delivery) -> tuple[str, ...]:
        """The replies to ``delivery``: a repeat gets the first delivery's; a message over the
        limits none, past the first notice."""
        who = safe(mask(delivery.sender))
        customer = delivery.inbound.customer
        sid = delivery.message_sid
        gates = self._admission.gates(customer, sid)
        admin = self._admin if self._admin is not None and customer == self._admin.number else None
        if admin is not None:
            turn = self._locks.turn(ADMIN_TURN, (), gates)
        else:
            fetch: list[Op] = [self._sessions.fetch(customer), Get(OVERRIDES_KEY)]
            if self._optouts is not None:
                fetch.append(self._optouts.fetch(customer))
            turn = self._locks.turn(customer, fetch, gates)
        async with turn:
            if turn.admitted:
                if admin is not None:
                    replies = await self._answer_admin(admin, delivery)
                else:
                    replies = await self._converse(delivery, who, turn)
                if sid is not None:
                    turn.writes += self._seen.handled(sid, replies)  # with the outcome, in one step
                return replies
        return await self._refusal(who, customer, sid, turn.checked)

    async def _refusal(
        self, who: str, customer: str, sid: str | None, checked: list[list[Any]]
    ) -> tuple[str, ...]:
        """The answer to a message a gate refused (``checked``: the results of the gates that ran)."""
        if sid is not None and len(checked) == 1:
            replies = self._seen.repeated(checked[0])
            self._log.info("🔁 Mensaje repetido de %s: ya atendido, %s", who,
                           "se responde lo mismo" if replies else "se ignora")
            return replies
        verdict = await self._limiter.verdict(customer, checked[-1])
        if verdict.allowed:
            raise RuntimeError("the store refused a message the rate limiter lets in")
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
        queued = self._buttons is not None and await self._buttons.send(outcome, inbound)
        if queued and not after.queued:
            after = after.evolve(queued=True)  # the turns after this one follow it through the outbox
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
        if queued:
            self._log.info("🔘 Respuesta por la cola de envíos para %s (botones, o detrás de ellos)", who)
            return ()  # the webhook answers with an empty TwiML
        return outcome.replies
