"""The ``Store`` contract, checked on memory and on a real Redis alike."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import pytest
import redis
from servicekit import SHARED_REDIS, prefix  # noqa: F401  (fixture)

from engine.storage.redis_line import RedisLine
from engine.storage.redis_store import RedisStore
from engine.storage.store import (
    Absent,
    Admit,
    Bound,
    Delete,
    Get,
    Incr,
    KeyedLocks,
    MemoryStore,
    Release,
    Set,
    SetIfAbsent,
    Take,
)

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def store(request, prefix) -> AsyncIterator[MemoryStore | RedisStore]:  # noqa: F811
    if request.param == "memory":
        yield MemoryStore(Clock())
    else:
        client = RedisLine.from_url(SHARED_REDIS)
        yield RedisStore(client, prefix)
        await client.aclose()


async def test_values_are_stored_and_deleted(store):
    assert await store.get("a") is None
    await store.set("a", "uno ñ 🌮", 60)
    assert await store.get("a") == "uno ñ 🌮"
    await store.delete("a")
    assert await store.get("a") is None


async def test_any_text_comes_back_unchanged(store):
    text = 'comillas " \\ barra / línea\nnulo \x00 \u2028 🌮 {"json": [1, null]} \udbff\udfff'.encode("utf-16", "surrogatepass").decode("utf-16")
    await store.set("t", text, 60)
    await store.set("empty", "", 60)
    assert await store.run([Get("t"), SetIfAbsent("t", "x", 60), Get("t"), Get("empty")]) == [text, False, text, ""]


async def test_set_if_absent_stores_only_the_first_value(store):
    assert await store.set_if_absent("k", "first", 60) is True
    assert await store.set_if_absent("k", "second", 60) is False
    assert await store.get("k") == "first"


async def test_incr_counts_from_one_and_keeps_the_first_expiry(store):
    assert [await store.incr("n", 60) for _ in range(3)] == [1, 2, 3]
    assert await store.incr("plain") == 1
    left = await store.ttl("n") if isinstance(store, RedisStore) else store.ttl("n")
    assert 55 < left <= 60


async def test_the_expiry_is_the_one_asked_for(store):
    await store.set("s", "x", 1800)
    left = await store.ttl("s") if isinstance(store, RedisStore) else store.ttl("s")
    assert 1795 < left <= 1800


async def test_several_operations_run_in_order_in_one_call(store):
    results = await store.run([
        SetIfAbsent("lock", "token-a", 5), Get("session"), Set("session", "v1", 60), Get("session"),
        Incr("n", 60), Incr("n", 60), Release("lock", "token-b"), Release("lock", "token-a"), Get("lock"),
        Delete("session"), Get("session"),
    ])
    assert results == [True, None, None, "v1", 1, 2, False, True, None, None, None]


async def test_admit_goes_on_only_when_every_check_before_it_passes(store):
    go = [SetIfAbsent("seen:1", "1", 60), Incr("count", 60, limit=2), Admit(), SetIfAbsent("lock", "t", 5), Get("s")]
    assert await store.run(go) == [True, 1, True, True, None]
    await store.delete("lock")
    # A repeated id: everything before the Admit still runs (the count goes up), nothing after it.
    assert await store.run(go) == [False, 2, False, None, None]
    assert await store.get("lock") is None
    over = [SetIfAbsent("seen:2", "1", 60), Incr("count", 60, limit=2), Admit(), Set("s", "v", 60)]
    assert await store.run(over) == [True, 3, False, None]
    assert await store.get("s") is None
    assert await store.run([Incr("count", 60), Admit(), Get("count")]) == [4, True, "4"]  # no limit


async def test_a_refusing_admit_runs_its_otherwise_and_only_then(store):
    ops = [Absent("seen:1"), Admit((Set("refused", "yes", 60), Delete("lock"))), Set("handled", "yes", 60)]
    await store.set("lock", "t", 60)
    assert await store.run(ops) == [None, True, None]
    assert (await store.get("handled"), await store.get("refused"), await store.get("lock")) == ("yes", None, "t")
    await store.set("seen:1", "marked", 60)
    await store.delete("handled")
    assert await store.run(ops) == ["marked", False, None]  # Absent gives what the key holds
    assert (await store.get("handled"), await store.get("refused"), await store.get("lock")) == (None, "yes", None)
    # Keys of an otherwise that did not run do not shift the keys of the operations after it.
    assert await store.run([Admit((Set("x", "1", 60),)), Get("refused"), Incr("n", 60)]) == [True, "yes", 1]
    assert await store.get("x") is None


async def test_take_holds_a_lock_for_its_token_and_taking_it_again_is_harmless(store):
    assert await store.run([Take("lock", "a", 5), Admit(), Get("lock")]) == [True, True, "a"]
    assert await store.run([Take("lock", "a", 5)]) == [True]  # the same call again (a client's retry)
    assert await store.run([Take("lock", "b", 5), Admit(), Set("s", "b's", 60)]) == [False, False, None]
    assert await store.get("s") is None
    assert await store.run([Release("lock", "a"), Take("lock", "b", 5)]) == [True, True]


async def test_a_lock_key_keeps_a_second_owner_out_until_released(store):
    assert await store.run([SetIfAbsent("lock", "a", 5)]) == [True]
    assert await store.run([SetIfAbsent("lock", "b", 5)]) == [False]
    assert await store.run([Release("lock", "a"), SetIfAbsent("lock", "b", 5)]) == [True, True]


def test_memory_keys_expire_with_its_clock():
    clock = Clock()
    memory = MemoryStore(clock)

    async def scenario() -> None:
        await memory.set("s", "x", 1800)
        await memory.incr("n", 1800)
        clock.now += 1799
        assert await memory.get("s") == "x"
        assert await memory.set_if_absent("n", "again", 60) is False
        assert await memory.incr("n", 1800) == 2
        clock.now += 1
        assert await memory.get("s") is None
        assert await memory.incr("n", 60) == 1  # the old count expired with its window
        assert await memory.set_if_absent("s", "new", 60) is True

    asyncio.run(scenario())


def test_memory_sweeps_expired_keys_so_it_does_not_grow_forever():
    clock = Clock()
    memory = MemoryStore(clock)

    async def scenario() -> None:
        for n in range(MemoryStore.SWEEP_EVERY - 1):
            await memory.set(f"old{n}", "x", 10)
        clock.now += 11
        await memory.set("fresh", "x", 10)  # the write that triggers the sweep

    asyncio.run(scenario())
    assert len(memory) == 1


def test_a_bound_keeps_memory_small_under_its_prefixes_only():
    clock = Clock()
    memory = MemoryStore(clock, Bound(("seen:",), seconds=60, count=100))

    async def scenario() -> None:
        for n in range(250):
            await memory.set(f"seen:{n}", "1", 86400)
        await memory.set("s:ana", "session", 86400)
        assert await memory.get("seen:149") is None and await memory.get("seen:150") == "1"  # the newest 100
        assert memory.ttl("seen:249") == 60 and memory.ttl("s:ana") == 86400
        await memory.set("seen:150", "again", 86400)  # written again: its old place in line is void
        for n in range(250, 349):
            await memory.set(f"seen:{n}", "1", 86400)
        assert await memory.get("seen:150") == "again" and await memory.get("seen:151") is None
        clock.now += 60
        assert await memory.get("seen:300") is None
        await memory.set("seen:new", "1", 86400)
        assert len(memory) == 2  # the session and the newest mark

    asyncio.run(scenario())


def test_each_prefix_is_held_to_its_own_bound():
    clock = Clock()
    memory = MemoryStore(clock, Bound(("seen:",), seconds=60, count=3), Bound(("s:",), seconds=86400, count=5))

    async def scenario() -> None:
        for n in range(10):
            await memory.set(f"s:{n}", "session", 1800)
            await memory.set(f"seen:{n}", "1", 86400)
        await memory.set("lock:ana", "token", 10)  # under no bound: kept as written
        sessions = [n for n in range(10) if await memory.get(f"s:{n}") is not None]
        marks = [n for n in range(10) if await memory.get(f"seen:{n}") is not None]
        assert sessions == [5, 6, 7, 8, 9] and marks == [7, 8, 9]  # the newest of each, apart
        assert memory.ttl("s:9") == 1800 and memory.ttl("seen:9") == 60
        assert await memory.get("lock:ana") == "token" and memory.ttl("lock:ana") == 10
        clock.now += 1801
        assert [n for n in range(10) if await memory.get(f"s:{n}") is not None] == []

    asyncio.run(scenario())


def test_keyed_locks_forget_keys_nobody_uses():
    locks = KeyedLocks()

    async def scenario() -> None:
        async def use(key: str) -> None:
            async with locks.hold(key):
                await asyncio.sleep(0)

        await asyncio.gather(*(use(f"k{n % 5}") for n in range(50)))

    asyncio.run(scenario())
    assert len(locks) == 0


def test_keys_carry_the_prefix(prefix):  # noqa: F811
    async def scenario() -> None:
        client = RedisLine.from_url(SHARED_REDIS)
        await RedisStore(client, prefix).set("x", "1", 60)
        await client.aclose()

    asyncio.run(scenario())
    assert redis.Redis.from_url(SHARED_REDIS, decode_responses=True).get(prefix + "x") == "1"


async def test_a_redis_that_forgot_the_script_gets_it_again(prefix):  # noqa: F811
    client = RedisLine.from_url(SHARED_REDIS)
    store = RedisStore(client, prefix)
    await store.set("k", "v", 60)
    await client.call("SCRIPT", "FLUSH")  # as after a restart
    assert await store.get("k") == "v"
    await client.aclose()


async def test_a_burst_of_calls_at_once_on_one_line_each_gets_its_own_reply(prefix):  # noqa: F811
    client = RedisLine.from_url(SHARED_REDIS)
    store = RedisStore(client, prefix)
    counts = await asyncio.gather(*(store.run([Incr("burst", 60), Get("nothing")]) for _ in range(300)))
    assert sorted(count for count, _ in counts) == list(range(1, 301))
    await client.aclose()
