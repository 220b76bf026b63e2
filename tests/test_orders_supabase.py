"""The Supabase order store at its HTTP boundary: the exact PostgREST calls, and what failures become."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime, timezone
from typing import Any, AsyncIterator
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from orderkit import delivery_order, make_order

from engine.model.jobs import Job
from engine.orders.opening import open_order_store
from engine.orders.store import OrderStoreError, OrderStoreUnavailable
from engine.orders.supabase import SupabaseOrderStore

pytestmark = pytest.mark.anyio
URL = "https://abcd1234.supabase.co"
REST = f"{URL}/rest/v1"


def jwt(role: str) -> str:
    """A key shaped like Supabase's legacy JWT keys (the signature is not checked client-side)."""
    part = lambda data: base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'role': role, 'ref': 'abcd1234'})}.c2lnbmF0dXJl"


SERVICE_KEY = jwt("service_role")


def row(order: Any, number: int = 1042, status: str = "nuevo") -> dict[str, Any]:
    """A row of ``orders`` the way PostgREST writes it: timestamps in UTC, lines as JSON."""
    placed = order.placed_at.astimezone(timezone.utc).isoformat()
    return {
        "number": number, "status": status, **order.to_record(), "placed_at": placed,
        "created_at": "2026-11-27T20:00:01.123456+00:00", "updated_at": "2026-11-27T20:00:01.123456+00:00",
    }


@pytest.fixture
async def api() -> AsyncIterator[respx.MockRouter]:
    # Every request must match a route, so a call the store should not make fails the test.
    with respx.mock(base_url=REST, assert_all_mocked=True, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def store(api) -> AsyncIterator[SupabaseOrderStore]:
    store = await SupabaseOrderStore.connect(URL, SERVICE_KEY)
    yield store
    await store.close()


def assert_service_key(request: httpx.Request) -> None:
    assert request.headers["apikey"] == SERVICE_KEY
    assert request.headers["authorization"] == f"Bearer {SERVICE_KEY}"


async def test_save_calls_place_order_with_the_whole_order_and_maps_the_row(api, store):
    order = delivery_order()
    route = api.post("/rpc/place_order").respond(200, json=row(order))
    stored = await store.save(order)

    assert route.call_count == 1
    request = route.calls.last.request
    assert request.url.path == "/rest/v1/rpc/place_order" and not request.url.query
    assert_service_key(request)
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "payload": {
            "order_key": "k-delivery",
            "customer": "+525512345678",
            "name": "Ana López",
            "contact": "+525512345678",
            "lines": [
                {"item_id": "taco_pastor", "name": "Taco al pastor", "quantity": 2,
                 "options": {"tortilla": "maiz", "salsa": "verde"},
                 "option_names": ["Tortilla de maíz", "Salsa verde"], "unit_price": 25, "total": 50},
                {"item_id": "horchata", "name": "Agua de horchata", "quantity": 1,
                 "options": {}, "option_names": [], "unit_price": 30, "total": 30},
            ],
            "subtotal": 80,
            "delivery_fee": 35,
            "total": 115,
            "fulfilment": "delivery",
            "address": "Calle Niños Héroes 12, int. 3",
            "location_lat": 19.432608,
            "location_lon": -99.133209,
            "location_label": "Zócalo",
            "payment": "transferencia",
            "placed_at": "2026-11-27T14:00:00-06:00",
            "extra": {"notes": "tocar dos veces", "propina": 20, "tags": ["frío"]},
        }
    }
    assert (stored.number, stored.status, stored.order.total) == (1042, "nuevo", 115)
    assert stored.order.placed_at.isoformat() == "2026-11-27T20:00:00+00:00"  # same instant, in UTC
    assert stored.created_at == datetime(2026, 11, 27, 20, 0, 1, 123456, tzinfo=timezone.utc)
    assert stored.order == order


async def test_a_conflict_on_the_key_returns_the_order_already_stored(api, store):
    order = make_order("abc123")
    api.post("/rpc/place_order").respond(409, json={
        "code": "23505", "details": "Key (order_key)=(abc123) already exists.", "hint": None,
        "message": 'duplicate key value violates unique constraint "orders_order_key_key"',
    })
    lookup = api.get("/orders").respond(200, json=[row(order, number=1007, status="listo")])
    stored = await store.save(order)
    assert (stored.number, stored.status, stored.order.key) == (1007, "listo", "abc123")
    request = lookup.calls.last.request
    assert_service_key(request)
    assert list(request.url.params.multi_items()) == [("select", "*"), ("order_key", "eq.abc123"), ("limit", "1")]


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
async def test_a_network_failure_means_unavailable(api, store, failure):
    route = api.post("/rpc/place_order").mock(side_effect=failure)
    with pytest.raises(OrderStoreUnavailable, match="Supabase no responde"):
        await store.save(make_order())
    assert route.call_count == 1  # no retry inside the webhook: the caller keeps the order


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500, json={"code": "XX000", "message": "internal error", "details": None, "hint": None}),
        httpx.Response(502, text="<html>Bad Gateway</html>"),
        httpx.Response(503, json={"code": "PGRST001", "message": "Database client error"}),
    ],
)
async def test_a_server_error_means_unavailable_for_writes_and_reads(api, store, response):
    save = api.post("/rpc/place_order").mock(return_value=response)
    read = api.get("/orders").mock(return_value=response)
    with pytest.raises(OrderStoreUnavailable, match=str(response.status_code)):
        await store.save(make_order())
    with pytest.raises(OrderStoreUnavailable):
        await store.get(1042)
    assert (save.call_count, read.call_count) == (1, 1)


@pytest.mark.parametrize(
    "status, body, code",
    [
        (400, {"code": "23514", "message": 'new row for relation "orders" violates check constraint'}, "23514"),
        (404, {"code": "PGRST202", "message": "Could not find the function public.place_order(payload)"}, "PGRST202"),
        (401, {"code": "42501", "message": "permission denied for function place_order"}, "42501"),
    ],
)
async def test_a_refusal_is_an_error_that_retrying_will_not_fix(api, store, status, body, code):
    api.post("/rpc/place_order").respond(status, json=body)
    with pytest.raises(OrderStoreError, match=code) as raised:
        await store.save(make_order())
    assert not isinstance(raised.value, OrderStoreUnavailable)


async def test_rows_that_are_no_order_are_an_error_not_a_crash(api, store):
    api.post("/rpc/place_order").mock(side_effect=[
        httpx.Response(200, json="ok"), httpx.Response(200, json={"number": 1042, "status": "nuevo"}),
    ])
    api.get("/orders").respond(200, json=[{**row(make_order()), "placed_at": "ayer"}])
    with pytest.raises(OrderStoreError, match="place_order devolvió algo inesperado: ok"):
        await store.save(make_order())
    with pytest.raises(OrderStoreError, match="place_order devolvió un pedido ilegible .KeyError"):
        await store.save(make_order())
    with pytest.raises(OrderStoreError, match="orders devolvió un pedido ilegible .ValueError") as raised:
        await store.get(1042)
    assert not isinstance(raised.value, OrderStoreUnavailable)  # trying again would not help


async def test_get_asks_for_one_order_by_number(api, store):
    route = api.get("/orders").mock(side_effect=[
        httpx.Response(200, json=[row(make_order(), number=1042)]), httpx.Response(200, json=[]),
    ])
    assert (await store.get(1042)).number == 1042
    assert await store.get(9999) is None
    first, second = (call.request for call in route.calls)
    assert_service_key(first)
    assert list(first.url.params.multi_items()) == [("select", "*"), ("number", "eq.1042"), ("limit", "1")]
    assert second.url.params["number"] == "eq.9999"


async def test_open_orders_ask_for_the_local_day_in_utc_and_the_open_statuses(api, store):
    orders = [row(make_order("a"), 1001), row(make_order("b"), 1003, "listo")]
    route = api.get("/orders").respond(200, json=orders)
    found = await store.open_orders(date(2026, 11, 27), ZoneInfo("America/Mexico_City"))
    assert [(o.number, o.status) for o in found] == [(1001, "nuevo"), (1003, "listo")]
    assert list(route.calls.last.request.url.params.multi_items()) == [
        ("select", "*"),
        ("placed_at", "gte.2026-11-27T06:00:00+00:00"),
        ("placed_at", "lt.2026-11-28T06:00:00+00:00"),
        ("status", "in.(nuevo,preparando,listo)"),
        ("order", "number.asc"),
    ]


async def test_set_status_patches_one_order_and_returns_it(api, store):
    route = api.patch("/orders").mock(side_effect=[
        httpx.Response(200, json=[row(make_order(), 1042, "listo")]), httpx.Response(200, json=[]),
    ])
    assert (await store.set_status(1042, "listo")).status == "listo"
    assert await store.set_status(9999, "listo") is None
    request = route.calls[0].request
    assert_service_key(request)
    assert list(request.url.params.multi_items()) == [("number", "eq.1042")]
    assert json.loads(request.content) == {"status": "listo"}
    assert request.headers["prefer"] == "return=representation"
    with pytest.raises(ValueError):
        await store.set_status(1042, "terminado")
    assert route.call_count == 2  # the unknown status never reached Supabase


async def test_list_asks_for_the_latest_orders(api, store):
    route = api.get("/orders").respond(200, json=[row(make_order(), 1002), row(make_order("x"), 1001)])
    assert [o.number for o in await store.list(limit=20, status="nuevo")] == [1002, 1001]
    assert list(route.calls.last.request.url.params.multi_items()) == [
        ("select", "*"), ("order", "number.desc"), ("limit", "20"), ("status", "eq.nuevo"),
    ]


async def test_the_factory_picks_supabase_with_both_settings_and_connecting_sends_nothing(api):
    store = await open_order_store(url=URL, key=SERVICE_KEY, path="ignored.sqlite3")
    assert isinstance(store, SupabaseOrderStore)
    await store.close()
    assert not api.calls


@pytest.mark.parametrize(
    "url, key, complaint",
    [
        (URL, jwt("anon"), "anon"),
        (URL, "sb_publishable_abc", "anon"),
        (URL, None, "SUPABASE_KEY"),
        (None, SERVICE_KEY, "SUPABASE_URL"),
    ],
)
async def test_the_factory_refuses_the_anon_key_and_half_a_configuration(url, key, complaint):
    with pytest.raises(ValueError, match=complaint):
        await open_order_store(url=url, key=key, path=None)


async def test_an_order_with_notices_is_placed_and_queued_by_one_function(api, store):
    from engine.model.effects import ORDER_NUMBER_SLOT
    from engine.model.jobs import Job

    order = make_order("with-notice")
    route = api.post("/rpc/place_order_and_queue").respond(200, json=row(order, number=1042))
    stored = await store.save(order, [Job("order:abc", f"Pedido #{ORDER_NUMBER_SLOT}")], due=1000.5)
    assert stored.number == 1042
    body = json.loads(route.calls.last.request.content)
    assert body == {"payload": order.to_record() | {"placed_at": "2026-11-27T14:00:00-06:00"},
                    "jobs": [{"id": "order:abc", "payload": f"Pedido #{ORDER_NUMBER_SLOT}"}],
                    "due": 1000.5, "slot": ORDER_NUMBER_SLOT}
    assert_service_key(route.calls.last.request)


async def test_the_outbox_queue_calls_the_migrations_functions(api, store):
    calls = {name: api.post(f"/rpc/outbox_{name}") for name in
             ("add", "claim", "reschedule", "finish", "wake", "hurry", "pending", "track", "reopen")}
    calls["add"].respond(200, json=True)
    calls["claim"].respond(200, json=[{"job_id": "a", "job_payload": "pa", "job_chain": ""},
                                      {"job_id": "t#1", "job_payload": "pt", "job_chain": "chat:1"}])
    calls["reschedule"].respond(204)
    calls["finish"].respond(204)
    calls["wake"].respond(204)
    calls["hurry"].respond(200, json=["a"])
    calls["pending"].respond(200, json=3)
    calls["track"].mock(side_effect=[
        httpx.Response(200, json=[{"job_id": "a", "job_payload": "pa", "before": "queued", "moved": True}]),
        httpx.Response(200, json=[{"job_id": "a", "job_payload": "pa", "before": "delivered", "moved": False}]),
        httpx.Response(200, json=[])])
    calls["reopen"].respond(200, json=False)
    queue = store.queue(lambda: 500.0)
    sid = "SM" + "f" * 32

    assert await queue.add("a", "pa", 400.0) is True
    assert await queue.add("t#1", "pt", 400.0, "chat:1") is True
    assert await queue.claim(500.0, 60.0, 8) == [Job("a", "pa"), Job("t#1", "pt", "chat:1")]
    await queue.reschedule("a", "pa1", 510.0, retrying=True)
    await queue.finish("a", 3600.0, sid)
    await queue.wake(520.0)
    assert await queue.hurry(530.0, 1) == ["a"]
    assert await queue.pending() == 3
    tracked = await queue.track(sid, "delivered", None)
    assert (tracked.id, tracked.before, tracked.status, tracked.moved) == ("a", "queued", "delivered", True)
    late = await queue.track(sid, "sent", None)
    assert (late.before, late.moved) == ("delivered", False)
    assert await queue.track(sid, "read", None) is None  # an unknown SID
    assert await queue.reopen("gone", "x", 1.0) is False

    sent = {name: [json.loads(call.request.content) for call in route.calls] for name, route in calls.items()}
    assert sent == {
        "add": [{"job_id": "a", "job_payload": "pa", "job_due": 400.0, "at_time": 500.0},
                {"job_id": "t#1", "job_payload": "pt", "job_due": 400.0, "at_time": 500.0, "job_chain": "chat:1"}],
        "claim": [{"at_time": 500.0, "lease": 60.0, "max_jobs": 8}],
        "reschedule": [{"job_id": "a", "job_payload": "pa1", "job_due": 510.0, "retrying": True}],
        "finish": [{"job_id": "a", "job_sid": sid, "kept_until": 4100.0, "at_time": 500.0}],
        "wake": [{"at_time": 520.0}],
        "hurry": [{"at_time": 530.0, "max_jobs": 1}],
        "pending": [{}],
        "track": [{"job_sid": sid, "new_status": "delivered", "new_code": None},
                  {"job_sid": sid, "new_status": "sent", "new_code": None},
                  {"job_sid": sid, "new_status": "read", "new_code": None}],
        "reopen": [{"job_id": "gone", "job_payload": "x", "job_due": 1.0}],
    }
    assert all(route.calls.last.request.headers["apikey"] == SERVICE_KEY for route in calls.values())


async def test_the_outbox_queue_fails_as_the_order_store_does(api, store):
    from engine.orders.store import OrderStoreError, OrderStoreUnavailable

    queue = store.queue(lambda: 500.0)
    api.post("/rpc/outbox_claim").mock(side_effect=[httpx.ConnectError("refused"), httpx.Response(503, text="down"),
                                                    httpx.Response(404, json={"code": "PGRST202", "message": "no such function"}),
                                                    httpx.Response(200, json={"not": "rows"})])
    for _ in range(2):
        with pytest.raises(OrderStoreUnavailable):
            await queue.claim(500.0, 60.0, 8)
    with pytest.raises(OrderStoreError, match="PGRST202") as refused:  # the migration was not applied
        await queue.claim(500.0, 60.0, 8)
    assert not isinstance(refused.value, OrderStoreUnavailable)
    with pytest.raises(OrderStoreError, match="outbox_claim devolvió algo inesperado"):
        await queue.claim(500.0, 60.0, 8)
