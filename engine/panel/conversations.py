"""Customers a person is talking to, and what was said, kept in the shared store.

Bounded rings of small keys, each written once (the ``Store`` has strings, counters and expiry,
nothing more, and every instance must see the same): a counter gives each event its slot.

- ``panel:held:{n % HELD_SLOTS}``: a customer was handed to a person (asked for one, or ``#tomar``),
  or back to the bot (``#soltar``, the panel's release), with until when; the latest event per
  customer decides. A customer falls out of the list ``HELD_SLOTS`` events later at worst.
- ``panel:said:{customer}:{n % SAID_SLOTS}``: one message, the customer's or the team's.
- ``panel:conversations``: a counter that changes with every event, for live pages.

Everything expires after ``KEEP_SECONDS``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Awaitable, Callable

from engine.service.takeover import CustomerTakeover
from engine.storage.store import Get, Incr, Set, Store

HELD_SLOTS = 64
SAID_SLOTS = 40
SHOWN = 20
"""Messages shown per conversation."""
KEEP_SECONDS = 2 * 86400
TEXT_LIMIT = 1000
VERSION_KEY = "panel:conversations"

Send = Callable[[str, str, str, str], Awaitable[bool]]
"""``Outbox.enqueue``: (event id, to, text, kind)."""


@dataclass(frozen=True)
class Said:
    who: str
    """``cliente`` or ``equipo``."""
    text: str
    at: float


@dataclass(frozen=True)
class HeldConversation:
    customer: str
    until: float
    """Epoch seconds the bot stays quiet until."""
    messages: tuple[Said, ...]
    """Oldest first, the last ``SHOWN``."""


class HeldConversations:
    """The log of taken-over conversations, and the team's answers through the bot's number."""

    def __init__(self, store: Store, send: Send, now: Callable[[], float] = time.time) -> None:
        self._store = store
        self._send = send
        self._now = now

    # ------------------------------------------------------------ writing

    async def held_by_person(self, customer: str, until: float, recent: tuple[str, ...] = ()) -> None:
        """A person handles ``customer`` until ``until`` (epoch seconds); ``recent``: what they said before."""
        await self._event(customer, until)
        for text in recent:
            await self.said(customer, "cliente", text)

    async def released(self, customer: str) -> None:
        await self._event(customer, 0)

    async def said(self, customer: str, who: str, text: str) -> int:
        """Keep one message; its sequence number in the conversation."""
        sequence = await self._store.incr(f"panel:said:{customer}:n", KEEP_SECONDS)
        entry = {"who": who, "text": text[:TEXT_LIMIT], "at": self._now(), "n": sequence}
        await self._store.run([
            Set(f"panel:said:{customer}:{sequence % SAID_SLOTS}", json.dumps(entry, ensure_ascii=False), KEEP_SECONDS),
            Incr(VERSION_KEY, KEEP_SECONDS),
        ])
        return sequence

    async def reply(self, customer: str, text: str) -> None:
        """The team answers ``customer`` on WhatsApp through the bot's number (the outbox)."""
        sequence = await self.said(customer, "equipo", text)
        await self._send(f"reply:{customer}:{sequence}:{int(self._now() * 1000)}", customer, text, "reply")

    async def _event(self, customer: str, until: float) -> None:
        sequence = await self._store.incr("panel:held:n", KEEP_SECONDS)
        entry = {"customer": customer, "until": until, "n": sequence}
        await self._store.run([
            Set(f"panel:held:{sequence % HELD_SLOTS}", json.dumps(entry), KEEP_SECONDS),
            Incr(VERSION_KEY, KEEP_SECONDS),
        ])

    # ------------------------------------------------------------ reading

    async def version(self) -> str:
        return str(await self._store.get(VERSION_KEY) or "0")

    async def held(self) -> list[str]:
        """Customers a person handles now, the latest taken first."""
        now = self._now()
        return [customer for customer, until in await self._latest() if until > now]

    async def _latest(self) -> list[tuple[str, float]]:
        raw = await self._store.run([Get(f"panel:held:{slot}") for slot in range(HELD_SLOTS)])
        latest: dict[str, tuple[int, float]] = {}
        for text in raw:
            entry = _json(text)
            if entry is None:
                continue
            customer, sequence = str(entry["customer"]), int(entry["n"])
            if customer not in latest or latest[customer][0] < sequence:
                latest[customer] = (sequence, float(entry["until"]))
        ordered = sorted(latest.items(), key=lambda pair: -pair[1][0])
        return [(customer, until) for customer, (_, until) in ordered]

    async def current(self) -> list[HeldConversation]:
        """Each conversation a person handles now, with its recent messages."""
        now = self._now()
        held = [(customer, until) for customer, until in await self._latest() if until > now]
        return [HeldConversation(customer, until, await self.messages(customer)) for customer, until in held]

    async def messages(self, customer: str) -> tuple[Said, ...]:
        raw = await self._store.run([Get(f"panel:said:{customer}:{slot}") for slot in range(SAID_SLOTS)])
        entries = sorted((e for e in map(_json, raw) if e is not None), key=lambda e: int(e["n"]))
        return tuple(Said(str(e["who"]), str(e["text"]), float(e["at"])) for e in entries[-SHOWN:])


class RecordedTakeover:
    """A ``CustomerTakeover`` that also keeps the conversation in the log (``#tomar``, ``#soltar``, the panel)."""

    def __init__(self, inner: CustomerTakeover, log: HeldConversations) -> None:
        self._inner = inner
        self._log = log

    async def take(self, customer: str, until: datetime) -> None:
        await self._inner.take(customer, until)
        await self._log.held_by_person(customer, until.timestamp())

    async def release(self, customer: str) -> None:
        await self._inner.release(customer)
        await self._log.released(customer)


def _json(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
