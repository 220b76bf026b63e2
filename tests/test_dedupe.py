"""A message id is handled once: the mark is written with the outcome, under the customer's turn."""

from __future__ import annotations

import asyncio

import pytest
from servicekit import SHARED_REDIS, prefix  # noqa: F401  (fixture)

from engine.service.dedupe import REMEMBER_SECONDS, REPLAY_MAX_CHARS, REPLAY_SECONDS, SeenMessages
from engine.service.locks import CustomerLocks
from engine.storage.redis_line import RedisLine
from engine.storage.redis_store import RedisStore
from engine.storage.store import Incr, MemoryStore

pytestmark = pytest.mark.anyio


async def deliver(locks: CustomerLocks, store, seen: SeenMessages, sid: str, fail: bool = False) -> tuple[str, ...]:
    """What the service does with a delivery: the work (counting) happens once per handled message."""
    async with locks.turn("ana", gates=[seen.gate(sid)]) as turn:
        if not turn.admitted:
            return seen.repeated(turn.checked[0])
        count = (await store.run([Incr("work", 10 * REMEMBER_SECONDS)]))[0]
        await asyncio.sleep(0.005)  # the others arrive meanwhile
        if fail:
            raise RuntimeError("the handler died")
        replies = (f"hecho {count}",)
        turn.writes += seen.handled(sid, replies)
        return replies


async def test_concurrent_deliveries_on_two_instances_do_the_work_once_and_all_get_its_replies(prefix):  # noqa: F811
    clients = [RedisLine.from_url(SHARED_REDIS), RedisLine.from_url(SHARED_REDIS)]
    stores = [RedisStore(client, prefix) for client in clients]
    locks = [CustomerLocks(store) for store in stores]
    seen = SeenMessages()
    answers = await asyncio.gather(*(deliver(locks[n % 2], stores[n % 2], seen, "SM123") for n in range(10)))
    assert answers == [("hecho 1",)] * 10
    assert await stores[0].get("work") == "1"
    assert 86390 < await stores[0].ttl(SeenMessages.key("SM123")) <= REMEMBER_SECONDS
    assert REPLAY_SECONDS - 10 < await stores[0].ttl(SeenMessages.replies_key("SM123")) <= REPLAY_SECONDS
    for client in clients:
        await client.aclose()


async def test_a_delivery_whose_handler_died_leaves_no_mark_and_its_retry_is_handled(prefix):  # noqa: F811
    client = RedisLine.from_url(SHARED_REDIS)
    store = RedisStore(client, prefix)
    locks, seen = CustomerLocks(store), SeenMessages()
    with pytest.raises(RuntimeError):
        await deliver(locks, store, seen, "SM9", fail=True)
    assert await store.get(SeenMessages.key("SM9")) is None
    assert await deliver(locks, store, seen, "SM9") == ("hecho 2",)  # handled: the work runs again
    assert await deliver(locks, store, seen, "SM9") == ("hecho 2",)  # then a repeat
    await client.aclose()


async def test_memory_remembers_a_day_and_replays_for_minutes():
    now = [0.0]
    store = MemoryStore(lambda: now[0])
    locks, seen = CustomerLocks(store), SeenMessages()
    assert await deliver(locks, store, seen, "SM1") == ("hecho 1",)
    now[0] += REPLAY_SECONDS - 1
    assert await deliver(locks, store, seen, "SM1") == ("hecho 1",)
    now[0] += 1
    assert await deliver(locks, store, seen, "SM1") == ()  # still a repeat, its replies forgotten
    now[0] = REMEMBER_SECONDS
    assert await deliver(locks, store, seen, "SM1") == ("hecho 2",)


def test_replies_too_long_to_keep_are_not_kept_and_odd_stored_values_replay_nothing():
    seen = SeenMessages()
    assert len(seen.handled("SM1", ["x" * 100])) == 2
    assert len(seen.handled("SM1", ["x" * REPLAY_MAX_CHARS])) == 1  # the mark alone
    for stored in (None, "", "no json", '{"a": 1}', "[1, 2]"):
        assert seen.repeated(["1", stored]) == ()
    assert seen.repeated(["1", '["uno", 2, "dos"]']) == ("uno", "dos")
