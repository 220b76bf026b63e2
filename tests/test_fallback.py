"""Redis absent at start, lost while running, and back: the store keeps answering throughout."""

from __future__ import annotations

import logging
import time

import pytest
from servicekit import redis_server  # noqa: F401  (fixture)

from engine.service.locks import CustomerLocks
from engine.storage.fallback import (
    BACK,
    CONNECTED,
    LOST,
    READY,
    UNAVAILABLE,
    FallbackStore,
)
from engine.storage.redis_line import RedisLine
from engine.storage.redis_store import RedisStore
from engine.storage.store import Absent, Admit, Bound, Incr, MemoryStore, Set

pytestmark = pytest.mark.anyio


class Ticks:
    """A monotonic clock the test moves by hand (when the store may probe Redis again)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def build(server, ticks, log) -> FallbackStore:
    return FallbackStore(
        RedisStore(RedisLine.from_url(server.url), "t:"), MemoryStore(time.time), log,
        probe_every=5.0, carry_over=("s:",), monotonic=ticks,
    )


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO, logger="test.fallback")
    return logging.getLogger("test.fallback")


def messages(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "test.fallback"]


async def test_start_with_redis_says_so(redis_server, log, caplog):  # noqa: F811
    redis_server.start()
    store = build(redis_server, Ticks(), log)
    await store.start()
    assert store.mode == "redis"
    assert messages(caplog) == [CONNECTED, READY]
    await store.set("s:a", "1", 60)
    assert redis_server.client().get("t:s:a") == "1"
    await store.close()


async def test_without_redis_the_store_uses_memory_then_moves_to_redis_when_it_appears(redis_server, log, caplog):  # noqa: F811
    ticks = Ticks()
    store = build(redis_server, ticks, log)
    started = time.perf_counter()
    await store.start()
    assert time.perf_counter() - started < 1.0
    assert store.mode == "memory"
    assert messages(caplog)[0].startswith(UNAVAILABLE)

    await store.set("s:+525512345678", "session", 1800)
    await store.set("other", "not carried", 60)
    assert await store.get("s:+525512345678") == "session"

    redis_server.start()
    ticks.now += 4.9
    assert await store.get("s:+525512345678") == "session"  # not yet time to probe: still memory
    assert store.mode == "memory"
    ticks.now += 0.2
    assert await store.get("s:+525512345678") == "session"  # probed, carried over, read from Redis
    assert store.mode == "redis"
    assert messages(caplog)[-1] == BACK
    client = redis_server.client()
    assert client.get("t:s:+525512345678") == "session"
    assert 1790 < client.ttl("t:s:+525512345678") <= 1800
    assert client.get("t:other") is None
    assert len(store.memory) == 0
    await store.close()


async def test_losing_redis_while_running_falls_back_once_and_cheaply(redis_server, log, caplog):  # noqa: F811
    ticks = Ticks()
    redis_server.start()
    store = build(redis_server, ticks, log)
    await store.start()
    await store.set("s:x", "in redis", 60)

    redis_server.stop()
    started = time.perf_counter()
    for n in range(50):
        await store.set(f"s:{n}", "in memory", 60)
        assert await store.get(f"s:{n}") == "in memory"
        assert await store.set_if_absent(f"seen:{n}", "1", 60) is True
        assert await store.incr("count", 60) == n + 1
    elapsed = time.perf_counter() - started
    assert store.mode == "memory"
    assert elapsed < 1.0, f"200 operations with Redis down took {elapsed:.2f}s"
    assert [m for m in messages(caplog) if m.startswith(LOST)] and len(
        [m for m in messages(caplog) if m.startswith(LOST)]
    ) == 1

    async with CustomerLocks(store, wait=1).turn("x"):  # a turn while Redis is away
        pass

    redis_server.start()
    ticks.now += 6
    assert await store.get("s:7") == "in memory"
    assert store.mode == "redis"
    assert redis_server.client().get("t:s:7") == "in memory"
    await store.close()


async def test_ready_probe_reports_the_truth(redis_server, log):  # noqa: F811
    ticks = Ticks()
    redis_server.start()
    store = build(redis_server, ticks, log)
    await store.start()
    assert await store.probe() is True
    redis_server.stop()
    assert await store.probe() is False
    assert store.mode == "memory"
    await store.close()


async def test_memory_only_when_redis_is_off(log, caplog):
    store = FallbackStore(None, MemoryStore(time.time), log)
    await store.start()
    assert store.mode == "memory"
    assert messages(caplog) == [UNAVAILABLE]
    assert await store.set_if_absent("a", "1", 60) is True
    assert await store.probe() is False


async def test_a_conversation_goes_on_when_redis_dies_and_its_outage_writes_return(redis_server, log):  # noqa: F811
    ticks = Ticks()
    redis_server.start()
    store = build(redis_server, ticks, log)
    await store.start()
    await store.set("s:ana", "step 1", 1800)
    await store.set("s:beto", "step 1", 1800)
    await store.set("rl:count", "7", 60)  # not carried: not copied to memory

    redis_server.stop()
    assert await store.get("s:ana") == "step 1"  # from the copy kept in memory
    assert await store.get("rl:count") is None
    await store.set("s:ana", "step 2", 1800)

    redis_server.start()  # an empty Redis, as Render's free Key Value after a restart
    ticks.now += 6
    assert await store.get("s:ana") == "step 2"
    client = redis_server.client()
    assert client.get("t:s:ana") == "step 2"
    assert client.get("t:s:beto") == "step 1"  # the copy restores what the restart lost
    assert client.get("t:rl:count") is None
    await store.close()


async def test_copies_never_overwrite_what_redis_kept(redis_server, log):  # noqa: F811
    ticks = Ticks()
    redis_server.start()
    store = build(redis_server, ticks, log)
    await store.start()
    await store.set("s:beto", "step 1", 1800)
    other_instance = redis_server.client()
    other_instance.set("t:s:beto", "step 5")  # beto went on talking to another instance
    store._lost(ConnectionError("blip"))  # this instance lost Redis for a moment
    ticks.now += 6
    assert await store.get("s:beto") == "step 5"
    await store.close()


async def test_copies_of_handled_message_ids_in_memory_are_few_and_short_lived(redis_server, log):  # noqa: F811
    ticks, now = Ticks(), [1_800_000_000.0]
    redis_server.start()
    store = FallbackStore(
        RedisStore(RedisLine.from_url(redis_server.url), "t:"), MemoryStore(lambda: now[0], Bound(("seen:",), 900, 100)), log,
        probe_every=5.0, carry_over=("s:", "seen:"), monotonic=ticks,
    )
    await store.start()
    for n in range(300):
        await store.run([Set(f"seen:SM{n}", "1", 86400)])
    await store.run([Set("s:ana", "session", 86400)])
    assert len(store.memory) == 101  # the newest hundred marks, and the session
    assert store.memory.ttl("seen:SM299") == 900 and store.memory.ttl("s:ana") == 86400
    assert redis_server.client().ttl("t:seen:SM0") > 86000  # Redis keeps them all, a day

    # A refusal's writes are copied too (a message refused for the limits is marked handled).
    refusal = [Absent("seen:SM300"), Admit(), Incr("rl:n", 60, limit=0), Admit((Set("seen:SM300", "1", 86400),))]
    assert await store.run(refusal) == [None, True, 1, False]

    redis_server.stop()  # the copies stand in while Redis is away
    assert (await store.run([Absent("seen:SM300")]))[0] == "1"
    assert (await store.run([Absent("seen:SM299")]))[0] == "1"
    assert (await store.run([Absent("seen:SM0")]))[0] is None  # long gone from memory
    now[0] += 900
    assert (await store.run([Absent("seen:SM299")]))[0] is None
    assert await store.get("s:ana") == "session"
    await store.close()
