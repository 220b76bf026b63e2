"""The embedded order store on a real file: numbers, idempotency, several writers, statuses, days."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from orderkit import delivery_order, make_order

from engine.model.order import StoredOrder
from engine.orders.opening import open_order_store
from engine.orders.sqlite import SqliteOrderStore
from engine.orders.store import OrderStoreError

pytestmark = pytest.mark.anyio
MEXICO = ZoneInfo("America/Mexico_City")


class Clock:
    """UTC time that the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 20, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(tmp_path: Path, clock: Clock) -> AsyncIterator[SqliteOrderStore]:
    store = SqliteOrderStore(tmp_path / "orders.sqlite3", now=clock)
    yield store
    await store.close()


def rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT number, order_key FROM orders ORDER BY number").fetchall()


async def test_the_file_and_its_folder_are_created_on_first_use_in_wal_mode(tmp_path):
    path = tmp_path / "data" / "nested" / "orders.sqlite3"
    store = SqliteOrderStore(path)
    assert not path.parent.exists()  # nothing happens before the first call
    assert await store.get(1001) is None
    assert path.is_file()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    await store.close()


async def test_numbers_start_at_1001_and_go_up_by_one(store):
    numbers = [(await store.save(make_order(f"k{n}"))).number for n in range(3)]
    assert numbers == [1001, 1002, 1003]
    assert [o.status for o in await store.list()] == ["nuevo"] * 3


async def test_the_same_key_saved_again_is_the_same_order_and_one_row(store):
    first = await store.save(make_order("same"))
    again = await store.save(make_order("same", name="Otra persona"))  # a retried webhook
    assert again == first and again.order.name == "Ana López"
    assert rows(store.path) == [(1001, "same")]
    assert (await store.save(make_order("next"))).number == 1002  # the retry used up no number


async def test_every_field_comes_back_exactly_even_after_a_restart(tmp_path):
    path = tmp_path / "orders.sqlite3"
    order = delivery_order()
    first = SqliteOrderStore(path, now=Clock())
    saved = await first.save(order)
    await first.close()

    second = SqliteOrderStore(path, now=Clock())
    stored = await second.get(saved.number)
    await second.close()
    assert stored == saved
    assert stored.order == order
    back = stored.order
    assert (back.customer, back.total, back.delivery_fee, back.subtotal) == ("+525512345678", 115, 35, 80)
    assert back.lines[0].options == {"tortilla": "maiz", "salsa": "verde"}
    assert back.lines[0].option_names == ("Tortilla de maíz", "Salsa verde")
    assert (back.lines[0].unit_price, back.lines[0].total, back.lines[0].quantity) == (25, 50, 2)
    assert back.location is not None and back.location.label == "Zócalo"
    assert back.placed_at == datetime(2026, 11, 27, 20, 0, tzinfo=timezone.utc)
    assert back.placed_at.isoformat() == "2026-11-27T14:00:00-06:00"  # the offset it was placed with
    assert stored.created_at == stored.updated_at == Clock().now
    assert isinstance(back.total, int) and back.extra["tags"] == ["frío"]


async def test_statuses_change_and_unknown_ones_are_refused(store, clock):
    saved = await store.save(make_order())
    clock.now += timedelta(minutes=5)
    ready = await store.set_status(saved.number, "preparando")
    assert isinstance(ready, StoredOrder)
    assert (ready.status, ready.created_at, ready.updated_at) == ("preparando", saved.created_at, clock.now)
    assert await store.get(saved.number) == ready
    with pytest.raises(ValueError, match="listo"):
        await store.set_status(saved.number, "terminado")
    assert await store.set_status(4242, "listo") is None
    assert (await store.get(saved.number)).status == "preparando"


async def test_list_is_newest_first_with_a_limit_and_a_status(store):
    for n in range(4):
        await store.save(make_order(f"k{n}"))
    await store.set_status(1002, "cancelado")
    assert [o.number for o in await store.list(limit=2)] == [1004, 1003]
    assert [o.number for o in await store.list(status="cancelado")] == [1002]
    with pytest.raises(ValueError):
        await store.list(status="perdido")


async def test_open_orders_are_the_days_orders_not_delivered_or_cancelled(store):
    placed = {
        "yesterday_late": "2026-11-26T23:59:59-06:00",
        "just_after_midnight": "2026-11-27T00:00:00-06:00",
        "late_tonight": "2026-11-28T05:30:00+00:00",  # 23:30 in Mexico City: still the 27th there
        "delivered": "2026-11-27T13:00:00-06:00",
        "cancelled": "2026-11-27T13:30:00-06:00",
        "ready": "2026-11-27T14:00:00-06:00",
        "tomorrow": "2026-11-28T00:00:00-06:00",
    }
    numbers = {key: (await store.save(make_order(key, placed_at=at))).number for key, at in placed.items()}
    await store.set_status(numbers["delivered"], "entregado")
    await store.set_status(numbers["cancelled"], "cancelado")
    await store.set_status(numbers["ready"], "listo")
    today = await store.open_orders(date(2026, 11, 27), MEXICO)
    assert [o.order.key for o in today] == ["just_after_midnight", "late_tonight", "ready"]
    tomorrow = await store.open_orders(date(2026, 11, 28), timezone.utc)
    assert [o.order.key for o in tomorrow] == ["late_tonight", "tomorrow"]


async def test_an_order_the_table_refuses_uses_up_no_number(store):
    with pytest.raises(OrderStoreError):
        await store.save(make_order("bad", total=79))
    with pytest.raises(OrderStoreError):
        await store.save(make_order("bad", fulfilment="dron"))
    with pytest.raises(ValueError, match="zona horaria"):  # not even an order: the store never sees it
        await store.save(make_order("naive", placed_at="2026-11-27T14:00:00"))
    assert (await store.save(make_order("good"))).number == 1001


async def test_two_stores_in_one_process_never_share_a_number(tmp_path):
    path = tmp_path / "orders.sqlite3"
    stores = [SqliteOrderStore(path), SqliteOrderStore(path)]
    keys = [f"k{n}" for n in range(20)] + ["shared"] * 6
    saved = await asyncio.gather(*(stores[n % 2].save(make_order(key)) for n, key in enumerate(keys)))
    for one in stores:
        await one.close()
    by_key = {stored.order.key: stored.number for stored in saved}
    assert len({stored.number for stored in saved if stored.order.key == "shared"}) == 1
    assert sorted(by_key.values()) == list(range(1001, 1022))
    assert len(rows(path)) == 21


def save_in_a_process(path: str, worker: int, count: int, start: Any, results: Any) -> None:
    """Runs in a child process: waits for every sibling, then saves its orders and a shared one."""

    async def work() -> list[tuple[str, int]]:
        store = SqliteOrderStore(Path(path))
        saved = []
        for n in range(count):
            order = make_order("shared" if n == count // 2 else f"w{worker}-{n}")
            saved.append((order.key, (await store.save(order)).number))
        await store.close()
        return saved

    start.wait()  # all processes open the (still missing) file and write at the same moment
    results.put(asyncio.run(work()))


def test_several_processes_on_one_file_get_unique_sequential_numbers(tmp_path):
    path = tmp_path / "shared" / "orders.sqlite3"
    workers, count = 4, 15
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(workers), spawn.Queue()
    processes = [
        spawn.Process(target=save_in_a_process, args=(str(path), worker, count, start, results))
        for worker in range(workers)
    ]
    for process in processes:
        process.start()
    saved = [pair for _ in processes for pair in results.get(timeout=60)]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0

    shared = {number for key, number in saved if key == "shared"}
    assert len(shared) == 1
    numbers = {key: number for key, number in saved}
    expected = workers * (count - 1) + 1
    assert sorted(numbers.values()) == list(range(1001, 1001 + expected))
    assert [number for number, _ in rows(path)] == list(range(1001, 1001 + expected))


async def test_the_factory_opens_sqlite_without_supabase_settings(tmp_path):
    store = await open_order_store(url=None, key="  ", path=tmp_path / "x" / "orders.sqlite3")
    assert isinstance(store, SqliteOrderStore)
    assert (await store.save(replace(make_order(), key="via-factory"))).number == 1001
    await store.close()
    assert (tmp_path / "x" / "orders.sqlite3").is_file()


async def test_an_order_and_its_notices_are_written_in_one_transaction(store, tmp_path):
    from engine.model.effects import ORDER_NUMBER_SLOT
    from engine.model.jobs import Job

    notice = [Job("order:k-1001", f'{{"body": "Pedido nuevo #{ORDER_NUMBER_SLOT}"}}')]
    stored = await store.save(make_order("k-1001"), notice, due=1000.0)
    again = await store.save(make_order("k-1001"), notice, due=2000.0)  # a retried webhook
    assert stored.number == again.number == 1001
    queue = store.queue(lambda: 1000.0)
    assert await queue.claim(1000.0, 60, 10) == [Job("order:k-1001", '{"body": "Pedido nuevo #1001"}')]
    assert await queue.pending() == 1  # queued once

    refused = make_order("k-bad", total=1)  # the table refuses the order: its notice is not queued either
    with pytest.raises(OrderStoreError):
        await store.save(refused, [Job("order:k-bad", "x")], due=1000.0)
    assert await queue.pending() == 1
    with sqlite3.connect(tmp_path / "orders.sqlite3") as db:
        assert db.execute("SELECT id FROM outbox").fetchall() == [("order:k-1001",)]
