"""The order store in Supabase: the ``orders`` table of ``supabase/migrations``, over PostgREST.

Saving goes through the ``place_order(payload jsonb)`` function, which looks the key up and
inserts in one transaction (``on conflict (order_key) do nothing``), so a retried save returns
the order already stored and the number comes from the table's sequence (1001, 1002, ...). An
order with notices goes through ``place_order_and_queue``, which also queues them in ``outbox``
(``engine.orders.supabase_queue``), in the same transaction.

Errors: a network failure or any 5xx raises ``OrderStoreUnavailable`` (the caller keeps the
order and tries again later); a 409 on the key returns the order already stored; any other
refusal raises ``OrderStoreError``. The client's own retries are off: it would sleep up to 30 s
inside a webhook, and retrying is the caller's decision.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timezone, tzinfo
from typing import Any, Awaitable

import httpx
from postgrest import APIError, APIResponse, AsyncSelectRequestBuilder

from engine.model.effects import ORDER_NUMBER_SLOT
from engine.model.jobs import Job
from engine.model.order import OPEN_STATUSES, Order, StoredOrder, check_status
from engine.orders.store import OrderStoreError, OrderStoreUnavailable, day_bounds
from engine.orders.supabase_queue import SupabaseJobQueue
from supabase import AsyncClient, AsyncClientOptions, acreate_client

TABLE = "orders"
TIMEOUT_SECONDS = 5.0
"""A webhook answers Twilio within 15 s: the store must give up before that."""
CONFLICT_CODES = ("23505", "409")
"""unique_violation from Postgres; a bare 409 when a proxy hides PostgREST's body."""


class SupabaseOrderStore:
    """An ``OrderStore`` on a Supabase project, through the given async client and its HTTP client."""

    def __init__(self, client: AsyncClient, http: httpx.AsyncClient) -> None:
        self._client = client
        self._http = http

    @classmethod
    async def connect(
        cls, url: str, key: str, *, timeout: float = TIMEOUT_SECONDS, transport: httpx.AsyncBaseTransport | None = None
    ) -> SupabaseOrderStore:
        """A store for the project at ``url`` with the service-role ``key``."""
        http = httpx.AsyncClient(
            timeout=timeout, transport=transport, event_hooks={"response": [_refuse_server_errors]}
        )
        options = AsyncClientOptions(httpx_client=http, postgrest_client_retry=False, persist_session=False)
        try:
            client = await acreate_client(url, key, options)
        except BaseException:
            await http.aclose()
            raise
        return cls(client, http)

    async def save(self, order: Order, then: Sequence[Job] = (), due: float = 0.0) -> StoredOrder:
        payload = order.to_record()
        if then:
            function = "place_order_and_queue"
            jobs = [{"id": job.id, "payload": job.payload, **({"chain": job.chain} if job.chain else {})} for job in then]
            args: dict[str, Any] = {"payload": payload, "jobs": jobs, "due": due, "slot": ORDER_NUMBER_SLOT}
        else:
            function, args = "place_order", {"payload": payload}
        try:
            response = await self._call(self._client.rpc(function, args).execute())
        except APIError as error:
            if error.code not in CONFLICT_CODES:
                raise _refused("guardar el pedido", error) from error
            # Somebody stored this key first (an older place_order, a direct insert): that order wins.
            existing = await self._one(self._orders().eq("order_key", order.key))
            if existing is None:
                raise _refused("guardar el pedido", error) from error
            queue = self.queue(lambda: due)
            for job in then:  # not in the order's transaction, but not lost
                await queue.add(job.id, job.payload.replace(ORDER_NUMBER_SLOT, str(existing.number)), due, job.chain)
            return existing
        return _stored(response.data, function)

    def queue(self, now: Callable[[], float]) -> SupabaseJobQueue:
        """The ``outbox`` table, on the service's clock ``now``."""
        return SupabaseJobQueue(self._rpc, now)

    async def _rpc(self, function: str, args: Mapping[str, Any]) -> Any:
        try:
            response = await self._call(self._client.rpc(function, dict(args)).execute())
        except APIError as error:
            raise _refused("usar la cola de mensajes", error) from error
        return response.data

    async def get(self, number: int) -> StoredOrder | None:
        return await self._one(self._orders().eq("number", number))

    async def open_orders(self, day: date, tz: tzinfo) -> builtins.list[StoredOrder]:
        start, end = (moment.astimezone(timezone.utc).isoformat() for moment in day_bounds(day, tz))
        query = self._orders().gte("placed_at", start).lt("placed_at", end).in_("status", OPEN_STATUSES).order("number")
        return await self._many(query)

    async def set_status(self, number: int, status: str) -> StoredOrder | None:
        check_status(status)
        # updated_at is the table's trigger's business, so every writer agrees on it.
        rows = await self._many(self._client.table(TABLE).update({"status": status}).eq("number", number))
        return rows[0] if rows else None

    async def list(self, limit: int = 50, status: str | None = None) -> builtins.list[StoredOrder]:
        query = self._orders().order("number", desc=True).limit(limit)
        if status is not None:
            query = query.eq("status", check_status(status))
        return await self._many(query)

    async def close(self) -> None:
        await self._http.aclose()

    def _orders(self) -> AsyncSelectRequestBuilder:
        return self._client.table(TABLE).select("*")

    async def _one(self, query: AsyncSelectRequestBuilder) -> StoredOrder | None:
        rows = await self._many(query.limit(1))
        return rows[0] if rows else None

    async def _many(self, query: AsyncSelectRequestBuilder) -> builtins.list[StoredOrder]:
        try:
            response = await self._call(query.execute())
        except APIError as error:
            raise _refused("leer los pedidos", error) from error
        return [_stored(row, "orders") for row in response.data]

    async def _call(self, request: Awaitable[APIResponse]) -> APIResponse:
        try:
            return await request
        except httpx.TransportError as error:
            raise OrderStoreUnavailable(f"Supabase no responde: {type(error).__name__}: {error}") from error


async def _refuse_server_errors(response: httpx.Response) -> None:
    """An httpx response hook: a 5xx becomes ``OrderStoreUnavailable`` before the body is parsed.

    PostgREST's error body carries a Postgres code but not the HTTP status, and a gateway's 502
    page has no code at all, so the status is judged here, where it is still known.
    """
    if response.status_code >= 500:
        await response.aread()
        detail = response.text[:200].replace("\n", " ")
        raise OrderStoreUnavailable(f"Supabase respondió {response.status_code}: {detail}")


def _stored(row: object, source: str) -> StoredOrder:
    """The order in a row PostgREST returned; ``OrderStoreError`` for anything else."""
    try:
        if isinstance(row, Mapping):
            return StoredOrder.from_record(row)
    except (KeyError, TypeError, ValueError) as error:
        raise OrderStoreError(f"{source} devolvió un pedido ilegible ({type(error).__name__}: {error})") from error
    raise OrderStoreError(f"{source} devolvió algo inesperado: {str(row)[:200]}")


MISSING_FUNCTION = "PGRST202"
"""PostgREST's code for a function the database does not have: a migration was not applied."""


def _refused(doing: str, error: APIError) -> OrderStoreError:
    hint = " (¿faltan migraciones? aplica supabase/migrations con `supabase db push`)" if error.code == MISSING_FUNCTION else ""
    return OrderStoreError(f"Supabase no dejó {doing}: {error.code} {error.message}{hint}")
