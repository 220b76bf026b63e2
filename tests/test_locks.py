"""Read-modify-write under ``CustomerLocks`` loses nothing, within one instance and across two."""

from __future__ import annotations

import asyncio
import time

import pytest
from servicekit import SHARED_REDIS, prefix  # noqa: F401  (fixture)

from engine.service.locks import CustomerLocks, Gate
from engine.storage.redis_line import RedisLine
from engine.storage.redis_store import RedisStore
from engine.storage.store import Absent, Get, Incr, LockTimeout, MemoryStore, Set

pytestmark = pytest.mark.anyio


async def add_one(locks: CustomerLocks, store, customer: str) -> None:
    async with locks.hold(customer):
        value = int(await store.get("count") or 0)
        await asyncio.sleep(0.001)  # give the others every chance to interleave
        await store.set("count", str(value + 1), 60)


async def test_twenty_at_once_in_memory_lose_nothing():
    store = MemoryStore(time.time)
    locks = CustomerLocks(store)
    await asyncio.gather(*(add_one(locks, store, "+525512345678") for _ in range(20)))
    assert await store.get("count") == "20"
    assert len(locks) == 0


async def test_twenty_at_once_on_two_instances_sharing_redis_lose_nothing(prefix):  # noqa: F811
    clients = [RedisLine.from_url(SHARED_REDIS), RedisLine.from_url(SHARED_REDIS)]
    stores = [RedisStore(client, prefix) for client in clients]
    instances = [CustomerLocks(store) for store in stores]
    await asyncio.gather(*(add_one(instances[n % 2], stores[n % 2], "+525512345678") for n in range(20)))
    assert await stores[0].get("count") == "20"
    for client in clients:
        await client.aclose()


async def test_without_the_lock_the_same_work_loses_updates(prefix):  # noqa: F811
    """The control experiment: the test above would catch a lock that does nothing."""
    client = RedisLine.from_url(SHARED_REDIS)
    store = RedisStore(client, prefix)

    async def unlocked() -> None:
        value = int(await store.get("count") or 0)
        await asyncio.sleep(0.001)
        await store.set("count", str(value + 1), 60)

    await asyncio.gather(*(unlocked() for _ in range(20)))
    assert int(await store.get("count")) < 20
    await client.aclose()


async def test_different_customers_do_not_wait_for_each_other():
    store = MemoryStore(time.time)
    locks = CustomerLocks(store, wait=0.05)
    async with locks.hold("+525511111111"):
        async with locks.hold("+525522222222"):
            pass
        with pytest.raises(LockTimeout):
            async with locks.hold("+525511111111"):
                pass


async def test_a_turn_fetches_and_stores_with_the_lock_and_frees_itself_after_a_crash(prefix):  # noqa: F811
    client = RedisLine.from_url(SHARED_REDIS)
    store = RedisStore(client, prefix)
    await store.set("s:ana", "before", 60)
    locks = CustomerLocks(store, hold=0.2, wait=2)
    async with locks.turn("ana", [Get("s:ana")]) as turn:
        assert turn.fetched == ["before"]
        turn.writes.append(Set("s:ana", "after", 60))
    assert await store.get("s:ana") == "after"
    assert await store.get(CustomerLocks.key("ana")) is None

    await store.set(CustomerLocks.key("ana"), "a crashed instance's token", 0.2)  # never released
    async with locks.turn("ana"):
        pass  # taken once the crashed holder's lock expired
    await client.aclose()


async def test_a_refused_gate_lets_go_of_the_turn_fetches_nothing_and_runs_its_refusal():
    store = MemoryStore(time.time)
    await store.set("s:ana", "session", 60)
    locks = CustomerLocks(store)
    handled = Gate((Absent("seen:SM1"),))
    limited = Gate((Incr("count", 60, limit=1),), refused=(Set("refused", "yes", 60),))
    async with locks.turn("ana", [Get("s:ana")], [handled, limited]) as turn:
        assert (turn.admitted, turn.checked, turn.fetched) == (True, [[None], [1]], ["session"])
        assert await store.get(CustomerLocks.key("ana")) is not None
        turn.writes.append(Set("seen:SM1", "1", 60))
    async with locks.turn("ana", [Get("s:ana")], [handled, limited]) as turn:
        # The first gate refused: the second did not run (nothing counted, nothing written).
        assert (turn.admitted, turn.checked, turn.fetched) == (False, [["1"]], [])
    assert await store.get("count") == "1" and await store.get("refused") is None
    async with locks.turn("ana", [Get("s:ana")], [Gate((Absent("seen:SM2"),)), limited]) as turn:
        assert (turn.admitted, turn.checked, turn.fetched) == (False, [[None], [2]], [])
    assert await store.get("refused") == "yes"
    assert await store.get(CustomerLocks.key("ana")) is None  # let go in the same round trip
    assert len(locks) == 0


async def test_a_turn_that_fails_stores_nothing_and_lets_go(prefix):  # noqa: F811
    client = RedisLine.from_url(SHARED_REDIS)
    store = RedisStore(client, prefix)
    locks = CustomerLocks(store)
    with pytest.raises(ZeroDivisionError):
        async with locks.turn("ana") as turn:
            turn.writes.append(Set("s:ana", "half done", 60))
            1 / 0
    assert await store.get("s:ana") is None
    assert await store.get(CustomerLocks.key("ana")) is None
    await client.aclose()


async def test_gates_wait_for_the_turn_so_a_waiting_message_counts_nothing_yet(prefix):  # noqa: F811
    client = RedisLine.from_url(SHARED_REDIS)
    store = RedisStore(client, prefix)
    await store.set(CustomerLocks.key("ana"), "another instance", 60)
    locks = CustomerLocks(store, wait=0.3)
    with pytest.raises(LockTimeout):
        async with locks.turn("ana", gates=[Gate((Incr("count", 60, limit=5),))]):
            pass
    assert await store.get("count") is None  # tried many times, counted never
    await store.delete(CustomerLocks.key("ana"))
    async with locks.turn("ana", gates=[Gate((Incr("count", 60, limit=5),))]) as turn:
        assert turn.checked == [[1]]
    await client.aclose()
