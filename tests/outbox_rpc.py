"""The ``outbox`` functions of ``supabase/migrations`` behind PostgREST, as respx routes.

``OutboxRpc`` answers ``/rest/v1/rpc/outbox_*`` with the same rules the migration's functions
follow, kept by ``engine.orders.sqlite_queue.SqliteJobQueue`` in a SQLite file of the test's own
(the Postgres functions are held to those rules on the real PostgreSQL by tests/test_migrations.py),
and queues the jobs of ``place_order_and_queue`` (``add_jobs``). Tests see what is queued through
``queue``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import respx

from engine.orders.sqlite_queue import SCHEMA, SqliteJobQueue, upgrade

T = TypeVar("T")


class OutboxRpc:
    def __init__(self, router: respx.MockRouter, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        for statement in filter(str.strip, SCHEMA.split(";")):
            self.db.execute(statement)
        upgrade(self.db)
        self.at = 0.0
        self.queue = SqliteJobQueue(self._write, lambda: self.at)
        self.calls: list[str] = []
        self.failing = False
        """True: every call answers 503, as a Supabase that is down."""
        self.route = router.post(path__regex=r"/rpc/outbox_[a-z]+$").mock(side_effect=self._call)

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            result = work(self.db)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return result

    def add_jobs(self, jobs: list[dict[str, str]], number: int, due: float, slot: str) -> None:
        """``place_order_and_queue``'s second half: the order's notices, ``slot`` made its number."""
        rows = [(job["id"], job["payload"].replace(slot, str(number)), due, job.get("chain", "")) for job in jobs]
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany("INSERT OR IGNORE INTO outbox (id, payload, due, chain) VALUES (?, ?, ?, ?)", rows)
        self.db.execute("COMMIT")

    async def _call(self, request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 1)[1]
        args: dict[str, Any] = json.loads(request.content)
        self.calls.append(name)
        if self.failing:
            return httpx.Response(503, json={"code": "PGRST001", "message": "Database client error"})
        queue = self.queue
        result: Any = None
        if "at_time" in args:
            self.at = args["at_time"]
        if name == "outbox_add":
            result = await queue.add(args["job_id"], args["job_payload"], args["job_due"], args.get("job_chain", ""))
        elif name == "outbox_claim":
            jobs = await queue.claim(args["at_time"], args["lease"], args["max_jobs"])
            result = [{"job_id": job.id, "job_payload": job.payload, "job_chain": job.chain} for job in jobs]
        elif name == "outbox_reschedule":
            await queue.reschedule(args["job_id"], args["job_payload"], args["job_due"], args["retrying"])
        elif name == "outbox_finish":
            await queue.finish(args["job_id"], args["kept_until"] - args["at_time"], args["job_sid"])
        elif name == "outbox_wake":
            await queue.wake(args["at_time"])
        elif name == "outbox_hurry":
            result = await queue.hurry(args["at_time"], args["max_jobs"])
        elif name == "outbox_pending":
            result = await queue.pending()
        elif name == "outbox_track":
            tracked = await queue.track(args["job_sid"], args["new_status"], args["new_code"])
            result = [] if tracked is None else [
                {"job_id": tracked.id, "job_payload": tracked.payload, "before": tracked.before, "moved": tracked.moved}]
        elif name == "outbox_reopen":
            result = await queue.reopen(args["job_id"], args["job_payload"], args["job_due"])
        else:
            return httpx.Response(404, json={"code": "PGRST202", "message": f"no function {name}",
                                             "details": None, "hint": None})
        return httpx.Response(204) if result is None else httpx.Response(200, json=result)

    def close(self) -> None:
        self.db.close()
