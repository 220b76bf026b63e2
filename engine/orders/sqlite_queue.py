"""The order store's job queue in SQLite: the ``outbox`` table, next to ``orders`` in the same file.

Messages to send wait here (``engine.model.jobs.TrackingQueue``), so they are as durable as the
orders, and an order's notices are written in the order's own transaction (``insert_jobs``,
called by ``SqliteOrderStore.save``). A sent message keeps its row, with Twilio's SID and the
last status its callbacks reported, until ``keep`` runs out: that row is the mark that refuses the
same event again. Every call is one ``BEGIN IMMEDIATE`` transaction, so processes sharing the file
never claim the same job.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from engine.model.effects import ORDER_NUMBER_SLOT
from engine.model.jobs import Job, Tracked, moves_forward

T = TypeVar("T")


class Writer(Protocol):
    """Does ``work`` on the store's connection inside one write transaction."""

    def __call__(self, work: Callable[[sqlite3.Connection], T]) -> Awaitable[T]: ...

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id          TEXT PRIMARY KEY,
    payload     TEXT NOT NULL,
    due         REAL NOT NULL,
    state       TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'retrying', 'done')),
    sid         TEXT UNIQUE,
    status      TEXT,
    error_code  INTEGER,
    keep_until  REAL,
    chain       TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, due);
"""
# state: waiting (due at ``due``), retrying (the same, after a transient failure), done (sent or
# given up; kept until ``keep_until`` so the same id is refused). chain: ``Job.chain`` ("" none);
# a chain's jobs are in the order of their rowid, which only grows for rows added later.
CHAIN_INDEX = "CREATE INDEX IF NOT EXISTS outbox_chain ON outbox (chain, state) WHERE chain != ''"
"""Made after ``upgrade``: a file from before chains gets the column first."""
CLAIMABLE = (
    "state != 'done' AND due <= ? AND (chain = '' OR NOT EXISTS ("
    "SELECT 1 FROM outbox AS earlier WHERE earlier.chain = outbox.chain AND earlier.state != 'done' "
    "AND earlier.rowid < outbox.rowid))"
)
"""Due, and the first of its chain still waiting (a job in flight still waits: it is not done)."""


def upgrade(db: sqlite3.Connection) -> None:
    """Bring an ``outbox`` table made before chains up to ``SCHEMA`` (inside the caller's transaction)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
    if "chain" not in columns:
        db.execute("ALTER TABLE outbox ADD COLUMN chain TEXT NOT NULL DEFAULT ''")
    db.execute(CHAIN_INDEX)


def insert_jobs(db: sqlite3.Connection, jobs: Sequence[Job], number: int, due: float) -> None:
    """Queue ``jobs`` (an order's notices) with ``ORDER_NUMBER_SLOT`` made ``number``; an id
    already queued or sent is left alone. Inside the caller's transaction."""
    db.executemany(
        "INSERT OR IGNORE INTO outbox (id, payload, due, chain) VALUES (?, ?, ?, ?)",
        [(job.id, job.payload.replace(ORDER_NUMBER_SLOT, str(number)), due, job.chain) for job in jobs],
    )


class SqliteJobQueue:
    """The ``outbox`` table as a ``TrackingQueue``, written through the store's ``write``;
    ``now`` is the service's clock (epoch seconds)."""

    def __init__(self, write: Writer, now: Callable[[], float]) -> None:
        self._do = write
        self._now = now

    async def add(self, id: str, payload: str, due: float, chain: str = "") -> bool:
        now = self._now()

        def add(db: sqlite3.Connection) -> bool:
            db.execute("DELETE FROM outbox WHERE id = ? AND state = 'done' AND keep_until <= ?", (id, now))
            return db.execute("INSERT OR IGNORE INTO outbox (id, payload, due, chain) VALUES (?, ?, ?, ?)",
                              (id, payload, due, chain)).rowcount == 1

        return await self._do(add)

    async def claim(self, now: float, lease: float, limit: int) -> list[Job]:
        def claim(db: sqlite3.Connection) -> list[Job]:
            rows = db.execute(
                f"SELECT id, payload, chain FROM outbox WHERE {CLAIMABLE} ORDER BY due, rowid LIMIT ?",
                (now, limit),
            ).fetchall()
            # In flight: no longer retrying, so nothing brings it forward to a second claimer.
            db.executemany("UPDATE outbox SET due = ?, state = 'waiting' WHERE id = ?",
                           [(now + lease, row[0]) for row in rows])
            return [Job(row[0], row[1], row[2]) for row in rows]

        return await self._do(claim)

    async def reschedule(self, id: str, payload: str, due: float, retrying: bool = False) -> None:
        state = "retrying" if retrying else "waiting"
        await self._do(lambda db: db.execute(
            "UPDATE outbox SET payload = ?, due = ?, state = ? WHERE id = ? AND state != 'done'",
            (payload, due, state, id)))

    async def finish(self, id: str, keep: float, sid: str | None = None) -> None:
        now = self._now()

        def finish(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO outbox (id, payload, due, state, sid, status, keep_until) VALUES (?, '', 0, 'done', ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET state = 'done', sid = excluded.sid, status = excluded.status, "
                "error_code = NULL, keep_until = excluded.keep_until",
                (id, sid, "queued" if sid else None, now + keep),
            )
            db.execute("DELETE FROM outbox WHERE state = 'done' AND keep_until <= ?", (now,))

        await self._do(finish)

    async def wake(self, now: float) -> None:
        await self._do(lambda db: db.execute("UPDATE outbox SET due = ? WHERE state != 'done' AND due > ?", (now, now)))

    async def hurry(self, now: float, limit: int | None = None) -> list[str]:
        def hurry(db: sqlite3.Connection) -> list[str]:
            ids = [row[0] for row in db.execute(
                "SELECT id FROM outbox WHERE state = 'retrying' AND due > ? ORDER BY due, id LIMIT ?",
                (now, -1 if limit is None else limit))]
            db.executemany("UPDATE outbox SET due = ? WHERE id = ?", [(now, id) for id in ids])
            return ids

        return await self._do(hurry)

    async def pending(self) -> int:
        return await self._do(lambda db: int(db.execute("SELECT count(*) FROM outbox WHERE state != 'done'").fetchone()[0]))

    async def track(self, sid: str, status: str, code: int | None) -> Tracked | None:
        def track(db: sqlite3.Connection) -> Tracked | None:
            row = db.execute("SELECT id, payload, status FROM outbox WHERE sid = ?", (sid,)).fetchone()
            if row is None:
                return None
            if not moves_forward(row[2], status):
                return Tracked(row[0], row[1], row[2], status, code, moved=False)
            db.execute("UPDATE outbox SET status = ?, error_code = ? WHERE sid = ?", (status, code, sid))
            return Tracked(row[0], row[1], row[2], status, code)

        return await self._do(track)

    async def reopen(self, id: str, payload: str, due: float) -> bool:
        return await self._do(lambda db: db.execute(
            "UPDATE outbox SET payload = ?, due = ?, state = 'waiting', sid = NULL, status = NULL, error_code = NULL, "
            "keep_until = NULL WHERE id = ?", (payload, due, id)).rowcount == 1)
