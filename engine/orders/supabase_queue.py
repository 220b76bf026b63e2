"""The order store's job queue in Supabase: the ``outbox`` table of ``supabase/migrations``.

Every operation is one call of a function of the migration over PostgREST (``/rest/v1/rpc/...``),
so each runs in one transaction: claiming uses ``for update skip locked`` and two instances never
take the same job; tracking a status locks the row, so callbacks arriving together never move it
backwards. Errors are the order store's: ``OrderStoreUnavailable`` when Supabase cannot be
reached, ``OrderStoreError`` when it refuses (the migration was not applied, say).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from engine.model.jobs import Job, Tracked
from engine.orders.store import OrderStoreError

Rpc = Callable[[str, Mapping[str, Any]], Awaitable[Any]]
"""Calls a function of the database with named arguments; its JSON result."""


class SupabaseJobQueue:
    """The ``outbox`` table as a ``TrackingQueue``, through ``rpc``, on the service's clock ``now``."""

    def __init__(self, rpc: Rpc, now: Callable[[], float]) -> None:
        self._rpc = rpc
        self._now = now

    async def add(self, id: str, payload: str, due: float, chain: str = "") -> bool:
        args: dict[str, object] = {"job_id": id, "job_payload": payload, "job_due": due, "at_time": self._now()}
        if chain:  # (a job without one is added as before the chains' migration)
            args["job_chain"] = chain
        return await self._rpc("outbox_add", args) is True

    async def claim(self, now: float, lease: float, limit: int) -> list[Job]:
        rows = await self._rpc("outbox_claim", {"at_time": now, "lease": lease, "max_jobs": limit})
        return [Job(str(row["job_id"]), str(row["job_payload"]), str(row.get("job_chain") or ""))
                for row in _rows(rows, "outbox_claim")]

    async def reschedule(self, id: str, payload: str, due: float, retrying: bool = False) -> None:
        await self._rpc("outbox_reschedule", {"job_id": id, "job_payload": payload, "job_due": due, "retrying": retrying})

    async def finish(self, id: str, keep: float, sid: str | None = None) -> None:
        now = self._now()
        await self._rpc("outbox_finish", {"job_id": id, "job_sid": sid, "kept_until": now + keep, "at_time": now})

    async def wake(self, now: float) -> None:
        await self._rpc("outbox_wake", {"at_time": now})

    async def hurry(self, now: float, limit: int | None = None) -> list[str]:
        ids = await self._rpc("outbox_hurry", {"at_time": now, "max_jobs": limit})
        if not isinstance(ids, list):
            raise OrderStoreError(f"outbox_hurry devolvió algo inesperado: {str(ids)[:200]}")
        return [str(id) for id in ids]

    async def pending(self) -> int:
        count = await self._rpc("outbox_pending", {})
        if isinstance(count, bool) or not isinstance(count, int):
            raise OrderStoreError(f"outbox_pending devolvió algo inesperado: {str(count)[:200]}")
        return count

    async def track(self, sid: str, status: str, code: int | None) -> Tracked | None:
        rows = _rows(await self._rpc("outbox_track", {"job_sid": sid, "new_status": status, "new_code": code}),
                     "outbox_track")
        if not rows:
            return None
        row = rows[0]
        before = row.get("before")
        return Tracked(str(row["job_id"]), str(row["job_payload"]), str(before) if before else None, status, code,
                       moved=row.get("moved") is True)

    async def reopen(self, id: str, payload: str, due: float) -> bool:
        return await self._rpc("outbox_reopen", {"job_id": id, "job_payload": payload, "job_due": due}) is True


def _rows(data: object, source: str) -> list[Mapping[str, Any]]:
    if isinstance(data, list) and all(isinstance(row, Mapping) for row in data):
        return data
    raise OrderStoreError(f"{source} devolvió algo inesperado: {str(data)[:200]}")
