"""Where today's conversations stopped: the last step of each customer who wrote, and whether
they ordered, counted per day in the shared store.

What is counted, honestly: every customer who wrote to the bot on a day (the admin is not a
customer) is one conversation that day; it ended in an order if an order was placed in it that
day. The others are grouped by the step their last message left them at, and split in two:
still going (their last message is younger than the session's life, ``session_minutes``) and
abandoned (older: the bot has forgotten them). A customer who came back later the same day
counts once, at their latest step.

Notes are kept in memory and written at most every ``FLUSH_SECONDS`` (and when the service
stops), so a message costs no extra round trip to the store: a crash loses those seconds.
Keys, per day (``YYYY-MM-DD`` in the restaurant's time zone), kept ``KEEP_SECONDS``:
``panel:steps:{day}:c:{who}`` (last step and time), ``:o:{who}`` (ordered),
``:known:{who}`` / ``:n`` / ``:i:{k}`` (the index of the day's customers, at most ``DAY_LIMIT``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from engine.storage.store import Get, Incr, Op, Set, SetIfAbsent, Store

FLUSH_SECONDS = 5.0
KEEP_SECONDS = 3 * 86400
DAY_LIMIT = 3000
ENDED = "(terminó)"
"""The step shown for a conversation the flow ended without an order (closed, cancelled...)."""


@dataclass(frozen=True)
class Stopped:
    step: str
    going: int
    """Still within the session's life."""
    abandoned: int


@dataclass(frozen=True)
class DayFunnel:
    conversations: int
    ordered: int
    stopped: tuple[Stopped, ...]
    """Conversations without an order, by step, most first."""
    capped: bool
    """More customers wrote than ``DAY_LIMIT``: only the first ones are counted."""


@dataclass
class _Note:
    step: str
    at: float
    ordered: bool


class StepTally:
    def __init__(self, store: Store, timezone: str, session_minutes: int, now: Callable[[], float],
                 log: logging.Logger, every: float = FLUSH_SECONDS) -> None:
        self._store = store
        self._zone = ZoneInfo(timezone)
        self._session_seconds = session_minutes * 60
        self._now = now
        self._log = log
        self._every = every
        self._notes: dict[tuple[str, str], _Note] = {}
        self._flushed = now()
        self._day: tuple[float, float, str] = (0.0, 0.0, "")
        """From, until (epoch seconds) and the day they make."""

    def day(self, at: float) -> str:
        """The restaurant's day at ``at`` (epoch seconds), worked out once per day."""
        since, until, day = self._day
        if since <= at < until:
            return day
        local = datetime.fromtimestamp(at, self._zone)
        start = datetime.combine(local.date(), time(0), self._zone)
        end = datetime.combine(local.date() + timedelta(days=1), time(0), self._zone)
        self._day = (start.timestamp(), end.timestamp(), local.strftime("%Y-%m-%d"))
        return self._day[2]

    def note(self, customer: str, step: str | None, ordered: bool) -> None:
        at = self._now()
        key = (self.day(at), _who(customer))
        before = self._notes.get(key)
        self._notes[key] = _Note(step or ENDED, at, ordered or (before is not None and before.ordered))

    async def flush_due(self) -> None:
        if self._notes and self._now() - self._flushed >= self._every:
            await self.flush()

    async def flush(self) -> None:
        notes, self._notes = self._notes, {}
        self._flushed = self._now()
        if not notes:
            return
        ops: list[Op] = []
        keys = list(notes)
        for day, who in keys:
            note = notes[(day, who)]
            base = f"panel:steps:{day}"
            ops.append(SetIfAbsent(f"{base}:known:{who}", "1", KEEP_SECONDS))
            ops.append(Set(f"{base}:c:{who}", json.dumps({"step": note.step, "at": note.at}), KEEP_SECONDS))
            if note.ordered:
                ops.append(Set(f"{base}:o:{who}", "1", KEEP_SECONDS))
        results = await self._store.run(ops)
        firsts = iter(r for op, r in zip(ops, results) if isinstance(op, SetIfAbsent))
        new = [(day, who) for (day, who) in keys if next(firsts)]
        if not new:
            return
        counts = await self._store.run([Incr(f"panel:steps:{day}:n", KEEP_SECONDS) for day, _ in new])
        await self._store.run([
            Set(f"panel:steps:{day}:i:{count}", who, KEEP_SECONDS)
            for (day, who), count in zip(new, counts) if int(count) <= DAY_LIMIT
        ])

    async def funnel(self, day: str) -> DayFunnel:
        base = f"panel:steps:{day}"
        total = int(await self._store.get(f"{base}:n") or 0)
        counted = min(total, DAY_LIMIT)
        whos = [w for w in await self._store.run([Get(f"{base}:i:{k}") for k in range(1, counted + 1)]) if w]
        raw = await self._store.run([op for who in whos for op in (Get(f"{base}:c:{who}"), Get(f"{base}:o:{who}"))])
        now = self._now()
        ordered = 0
        by_step: dict[str, list[int]] = {}
        for index in range(len(whos)):
            last, placed = raw[2 * index], raw[2 * index + 1]
            if placed:
                ordered += 1
                continue
            try:
                entry: dict[str, Any] = json.loads(last) if last else {"step": ENDED, "at": 0}
                step, at = str(entry["step"]), float(entry["at"])
            except (ValueError, KeyError, TypeError):
                continue
            counts = by_step.setdefault(step, [0, 0])
            counts[0 if now - at <= self._session_seconds and step != ENDED else 1] += 1
        stopped = sorted((Stopped(step, c[0], c[1]) for step, c in by_step.items()), key=lambda s: -(s.going + s.abandoned))
        return DayFunnel(len(whos), ordered, tuple(stopped), total > DAY_LIMIT)


def _who(customer: str) -> str:
    """The day's key for a customer: not their number."""
    return hashlib.sha256(customer.encode()).hexdigest()[:16]
