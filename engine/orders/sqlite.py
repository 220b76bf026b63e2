"""The embedded order store: one SQLite file, created on first use, shared safely by processes.

sqlite3 blocks, so every call runs on this store's single worker thread (one connection, used by
one thread only) and the event loop never waits on the disk. Numbers come from the database
itself: ``AUTOINCREMENT`` seeded at 1000, allocated inside a ``BEGIN IMMEDIATE`` transaction that
holds the file's write lock, so several processes on the same file never hand out a number twice
and the look-up by key and the insert cannot interleave with another writer.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

from engine.model.order import (
    FULFILMENTS,
    OPEN_STATUSES,
    STATUSES,
    Order,
    StoredOrder,
    check_status,
)
from engine.model.jobs import Job
from engine.orders.sqlite_queue import SCHEMA as QUEUE_SCHEMA
from engine.orders.sqlite_queue import SqliteJobQueue, insert_jobs, upgrade
from engine.orders.store import (
    FIRST_ORDER_NUMBER,
    OrderStoreError,
    OrderStoreUnavailable,
    day_bounds,
)

T = TypeVar("T")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
BUSY_SECONDS = 5.0
"""How long a writer waits for another process's transaction before giving up."""

_STATUS_LIST = ", ".join(f"'{status}'" for status in STATUSES)
_FULFILMENT_LIST = ", ".join(f"'{fulfilment}'" for fulfilment in FULFILMENTS)
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS orders (
    number         INTEGER PRIMARY KEY AUTOINCREMENT,
    order_key      TEXT NOT NULL UNIQUE,
    status         TEXT NOT NULL DEFAULT 'nuevo' CHECK (status IN ({_STATUS_LIST})),
    customer       TEXT NOT NULL,
    name           TEXT NOT NULL,
    contact        TEXT NOT NULL,
    lines          TEXT NOT NULL,
    subtotal       INTEGER NOT NULL CHECK (subtotal >= 0),
    delivery_fee   INTEGER NOT NULL CHECK (delivery_fee >= 0),
    total          INTEGER NOT NULL CHECK (total >= 0),
    fulfilment     TEXT NOT NULL CHECK (fulfilment IN ({_FULFILMENT_LIST})),
    address        TEXT,
    location_lat   REAL,
    location_lon   REAL,
    location_label TEXT,
    payment        TEXT NOT NULL,
    placed_at      TEXT NOT NULL,
    placed_us      INTEGER NOT NULL,
    extra          TEXT NOT NULL DEFAULT '{{}}',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    CHECK (total = subtotal + delivery_fee)
) STRICT;
CREATE INDEX IF NOT EXISTS orders_placed_us ON orders (placed_us);
CREATE INDEX IF NOT EXISTS orders_status ON orders (status);
"""
# The columns are those of ``Order.to_record`` (lines and extra as JSON text) and the store's own.
# placed_at keeps the order's text (its offset included) so it reads back exactly;
# placed_us is the same moment in microseconds since 1970, for comparing days across offsets.


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SqliteOrderStore:
    """An ``OrderStore`` in the SQLite file at ``path`` (its folder is created when missing)."""

    def __init__(self, path: Path, *, now: Callable[[], datetime] = utc_now) -> None:
        self.path = path
        self._now = now
        self._db: sqlite3.Connection | None = None

    async def save(self, order: Order, then: Sequence[Job] = (), due: float = 0.0) -> StoredOrder:
        record = order.to_record()
        stamp = self._now().isoformat()
        values: dict[str, object] = {
            **record,
            "lines": json.dumps(record["lines"], ensure_ascii=False),
            "extra": json.dumps(record["extra"], ensure_ascii=False),
            "placed_us": _micros(order.placed_at),
            "created_at": stamp,
            "updated_at": stamp,
        }
        # The names are the record's own keys, never anything a customer typed.
        insert = f"INSERT INTO orders ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})"

        def save(db: sqlite3.Connection) -> StoredOrder:
            with _write(db):
                row = db.execute("SELECT * FROM orders WHERE order_key = ?", (order.key,)).fetchone()
                if row is None:
                    db.execute(insert, tuple(values.values()))
                    row = db.execute("SELECT * FROM orders WHERE order_key = ?", (order.key,)).fetchone()
                insert_jobs(db, then, row["number"], due)  # in the order's transaction
            return _stored(row)

        return await self._run(save)

    def queue(self, now: Callable[[], float]) -> SqliteJobQueue:
        """The ``outbox`` table of this file, on the service's clock ``now``."""
        return SqliteJobQueue(self._write, now)

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def in_transaction(db: sqlite3.Connection) -> T:
            with _write(db):
                return work(db)

        return await self._run(in_transaction)

    async def get(self, number: int) -> StoredOrder | None:
        return await self._run(lambda db: _maybe(db.execute("SELECT * FROM orders WHERE number = ?", (number,))))

    async def open_orders(self, day: date, tz: tzinfo) -> builtins.list[StoredOrder]:
        start, end = (_micros(moment) for moment in day_bounds(day, tz))
        marks = ", ".join("?" * len(OPEN_STATUSES))
        query = (
            f"SELECT * FROM orders WHERE placed_us >= ? AND placed_us < ? AND status IN ({marks}) "
            "ORDER BY number"
        )
        return await self._run(lambda db: [_stored(row) for row in db.execute(query, (start, end, *OPEN_STATUSES))])

    async def set_status(self, number: int, status: str) -> StoredOrder | None:
        check_status(status)
        stamp = self._now().isoformat()

        def change(db: sqlite3.Connection) -> StoredOrder | None:
            with _write(db):
                db.execute("UPDATE orders SET status = ?, updated_at = ? WHERE number = ?", (status, stamp, number))
                return _maybe(db.execute("SELECT * FROM orders WHERE number = ?", (number,)))

        return await self._run(change)

    async def list(self, limit: int = 50, status: str | None = None) -> builtins.list[StoredOrder]:
        params: tuple[Any, ...]
        where, params = ("", (limit,)) if status is None else ("WHERE status = ?", (check_status(status), limit))
        query = f"SELECT * FROM orders {where} ORDER BY number DESC LIMIT ?"
        return await self._run(lambda db: [_stored(row) for row in db.execute(query, params)])

    async def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        # On the event loop itself: a write to a local WAL file takes tens of microseconds, while a
        # worker thread has to win the GIL back from a busy loop (measured: 60 ms at the median for
        # a confirmation under load, against 38 ms for other messages). Waiting for another
        # process's lock is bounded by BUSY_SECONDS.
        return self._call(work)

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Opens the file on first use, then does ``work``."""
        try:
            if self._db is None:
                self._db = _open(self.path)
            return work(self._db)
        except sqlite3.IntegrityError as error:
            raise OrderStoreError(f"El pedido no cabe en la tabla: {error}") from error
        except (sqlite3.OperationalError, OSError) as error:
            # "database is locked" past the busy timeout, a full disk, a folder that cannot be made.
            raise OrderStoreUnavailable(f"No se pudo usar {self.path}: {error}") from error


def _open(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: no implicit transactions; _write opens each one explicitly.
    # check_same_thread off: a store is used by one event loop at a time, whichever thread runs it.
    db = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    _use_wal(db)  # readers never wait for the writer
    db.execute("PRAGMA synchronous = NORMAL")  # with WAL: durable across crashes of the process
    with _write(db):
        # One statement at a time: executescript would commit first and leave the lock.
        for statement in filter(str.strip, (SCHEMA + QUEUE_SCHEMA).split(";")):
            db.execute(statement)
        upgrade(db)  # a file made by an earlier version
        db.execute(
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'orders', ? "
            "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'orders')",
            (FIRST_ORDER_NUMBER - 1,),
        )
    return db


def _use_wal(db: sqlite3.Connection) -> None:
    """Switch the file to WAL. That takes an exclusive lock without waiting on the busy timeout,
    so processes opening a new file at the same moment must try again (for BUSY_SECONDS at most)."""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextmanager
def _write(db: sqlite3.Connection) -> Iterator[None]:
    """A transaction that takes the write lock at once, so nobody writes between our read and write."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _stored(row: sqlite3.Row) -> StoredOrder:
    values = dict(row)
    values["lines"] = json.loads(values["lines"])
    values["extra"] = json.loads(values["extra"])
    return StoredOrder.from_record(values)


def _maybe(cursor: sqlite3.Cursor) -> StoredOrder | None:
    row = cursor.fetchone()
    return None if row is None else _stored(row)


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)
