"""The job queues, the same rules in memory, in Redis and in the order store's SQLite file (times
passed in: no waiting); the copies that put jobs back when Redis comes back empty."""

from __future__ import annotations

import sqlite3

import pytest
import redis
from servicekit import SHARED_REDIS, prefix, redis_server  # noqa: F401  (fixtures)

from engine.orders.sqlite import SqliteOrderStore
from engine.storage.jobqueue import FallbackJobQueue, Job, MemoryJobQueue
from engine.storage.redis_jobqueue import RedisJobQueue
from engine.storage.redis_store import connect

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis", "sqlite"])
async def queue(request, prefix, tmp_path):  # noqa: F811
    if request.param == "memory":
        yield MemoryJobQueue(Clock())
        return
    if request.param == "sqlite":
        store = SqliteOrderStore(tmp_path / "orders.sqlite3")
        yield store.queue(Clock())
        await store.close()
        return
    client = connect(SHARED_REDIS)
    yield RedisJobQueue(client, prefix)
    await client.aclose()


async def test_an_id_is_added_once(queue):
    assert await queue.add("order:1001", "a", 1000.0)
    assert not await queue.add("order:1001", "b", 1000.0)
    assert await queue.pending() == 1
    assert await queue.claim(1000.0, 30, 10) == [Job("order:1001", "a")]


async def test_only_due_jobs_are_claimed_oldest_first(queue):
    await queue.add("late", "3", 1030.0)
    await queue.add("second", "2", 1010.0)
    await queue.add("first", "1", 1005.0)
    assert [j.id for j in await queue.claim(1020.0, 30, 10)] == ["first", "second"]
    assert [j.id for j in await queue.claim(1031.0, 30, 1)] == ["late"]


async def test_a_claimed_job_is_hidden_for_its_lease_then_due_again(queue):
    await queue.add("e", "p", 1000.0)
    assert len(await queue.claim(1000.0, 60, 10)) == 1
    assert await queue.claim(1059.0, 60, 10) == []  # another worker does not take it meanwhile
    assert await queue.claim(1060.0, 60, 10) == [Job("e", "p")]  # the claimer died: it comes back


async def test_reschedule_keeps_the_new_payload_until_its_time(queue):
    await queue.add("e", "try 0", 1000.0)
    await queue.claim(1000.0, 60, 10)
    await queue.reschedule("e", "try 1", 1002.0)
    assert await queue.claim(1001.0, 60, 10) == []
    assert await queue.claim(1002.0, 60, 10) == [Job("e", "try 1")]


async def test_a_finished_id_is_refused_while_its_mark_lasts(queue):
    await queue.add("e", "p", 1000.0)
    await queue.finish("e", 7 * 86400)
    assert await queue.pending() == 0
    assert await queue.claim(2000.0, 60, 10) == []
    assert not await queue.add("e", "p", 1000.0)


async def test_wake_makes_every_waiting_job_due(queue):
    await queue.add("a", "1", 5000.0)
    await queue.add("b", "2", 9000.0)
    await queue.wake(1000.0)
    assert {j.id for j in await queue.claim(1000.0, 60, 10)} == {"a", "b"}


async def test_hurry_brings_forward_only_what_waits_after_a_transient_failure(queue):
    for id in ("a", "b", "c", "d"):
        await queue.add(id, id, 1000.0)
    await queue.claim(1000.0, 60, 10)
    await queue.reschedule("a", "a1", 5000.0, retrying=True)
    await queue.reschedule("b", "b1", 3000.0, retrying=True)
    await queue.reschedule("c", "c1", 2000.0)  # waiting for the 24-hour window: not a failure of Twilio's
    await queue.reschedule("d", "d1", 4000.0, retrying=True)
    await queue.finish("d", 60)
    assert await queue.hurry(1000.0, 1) == ["b"]  # the one due soonest: a probe
    assert await queue.claim(1000.0, 60, 10) == [Job("b", "b1")]
    assert await queue.hurry(1001.0) == ["a"]  # b is in flight: never handed to a second claimer
    assert [j.id for j in await queue.claim(1001.0, 60, 10)] == ["a"]
    assert await queue.hurry(1001.0) == [] and await queue.claim(1050.0, 60, 10) == []  # c keeps its time
    await queue.reschedule("a", "a2", 9000.0)  # rescheduled without a failure: no longer retrying
    assert await queue.hurry(1002.0) == []


async def test_the_memory_mark_expires():
    clock = Clock()
    queue = MemoryJobQueue(clock)
    await queue.add("e", "p", 1000.0)
    await queue.finish("e", 60)
    clock.now += 59
    assert not await queue.add("e", "p", 1000.0)
    clock.now += 2
    assert await queue.add("e", "p", 1000.0)


async def test_redis_keys_stay_under_the_prefix_and_the_mark_expires(prefix):  # noqa: F811
    client = connect(SHARED_REDIS)
    queue = RedisJobQueue(client, prefix)
    await queue.add("e", "p", 1000.0)
    await queue.finish("e", 3 * 86400)
    plain = redis.Redis.from_url(SHARED_REDIS, decode_responses=True)
    keys = sorted(plain.scan_iter(match=prefix + "*"))
    assert keys == [prefix + "outbox:done:e"]
    assert 3 * 86400 - 5 < plain.ttl(prefix + "outbox:done:e") <= 3 * 86400
    plain.close()
    await client.aclose()


async def test_queues_with_different_names_do_not_mix(prefix):  # noqa: F811
    client = connect(SHARED_REDIS)
    outbox, waiting = RedisJobQueue(client, prefix), RedisJobQueue(client, prefix, "waiting-orders")
    assert await outbox.add("e", "message", 1000.0)
    assert await waiting.add("e", "order", 1000.0)  # same id, another queue
    assert await waiting.claim(1000.0, 60, 10) == [Job("e", "order")]
    await waiting.finish("e", 60)
    assert await outbox.pending() == 1
    assert await client.exists(prefix + "waiting-orders:done:e", prefix + "outbox:jobs") == 2
    await client.aclose()


async def test_jobs_added_while_redis_comes_back_are_not_wiped(redis_server):  # noqa: F811
    """Recovery copies memory to Redis over several round trips; jobs other requests add
    meanwhile must reach Redis too, not vanish when the memory is cleared."""
    import asyncio
    import logging

    from engine.storage.jobqueue import FallbackJobQueue

    client = connect(redis_server.url)
    monotonic = Clock()
    queue = FallbackJobQueue(
        RedisJobQueue(client, "t:"), MemoryJobQueue(), logging.getLogger("test"), probe_every=5.0, monotonic=monotonic
    )
    try:
        for n in range(5):  # Redis is not running: these wait in memory
            assert await queue.add(f"before-{n}", "x", 0.0)
        assert queue.mode == "memory"
        redis_server.start()
        monotonic.now += 10  # time to probe again: one add does, the others keep to memory meanwhile
        async def trickle() -> None:  # other requests arriving meanwhile
            for n in range(30):
                assert await queue.add(f"during-{n}", "x", 0.0)
                await asyncio.sleep(0.0005)  # paced, so they land between the recovery's copies

        # One add starts the recovery; the trickle goes on while its copies are in flight.
        await asyncio.gather(queue.add("recovery", "x", 0.0), trickle())
        await queue.add("after", "x", 0.0)
        assert queue.mode == "redis"
        stored = redis_server.client().hkeys("t:outbox:jobs")
        expected = {f"before-{n}" for n in range(5)} | {f"during-{n}" for n in range(30)} | {"recovery", "after"}
        assert set(stored) == expected
    finally:
        await client.aclose()


async def test_the_sqlite_mark_expires_on_the_queues_clock(tmp_path):
    clock = Clock()
    store = SqliteOrderStore(tmp_path / "orders.sqlite3")
    queue = store.queue(clock)
    await queue.add("e", "p", 1000.0)
    await queue.finish("e", 60, "SM" + "1" * 32)
    clock.now += 59
    assert not await queue.add("e", "p", 1000.0)
    clock.now += 2
    assert await queue.add("e", "p", 1000.0)
    assert await queue.pending() == 1
    await store.close()


def fallback(client, name: str = "outbox") -> FallbackJobQueue:
    import logging

    return FallbackJobQueue(RedisJobQueue(client, "t:", name), MemoryJobQueue(), logging.getLogger("test.jobqueue"),
                            probe_every=0.0)


async def test_what_waits_is_put_back_when_redis_comes_back_empty(redis_server):  # noqa: F811
    redis_server.start()
    client = connect(redis_server.url)
    queue = fallback(client)
    try:
        for n in range(3):
            assert await queue.add(f"job-{n}", f"payload {n}", 1000.0)
        assert await queue.claim(900.0, 60, 10) == []  # seen once: the queue knows this Redis's epoch
        [job] = await queue.claim(1000.0, 60, 1)
        await queue.reschedule(job.id, "tried once", 1010.0, retrying=True)
        redis_server.stop()
        redis_server.start()  # a free Key Value restarted: nothing kept
        assert redis_server.client().hlen("t:outbox:jobs") == 0
        claimed = await queue.claim(1100.0, 60, 10)
        assert sorted((j.id, j.payload) for j in claimed) == [
            ("job-0", "tried once"), ("job-1", "payload 1"), ("job-2", "payload 2")]
        assert set(redis_server.client().hkeys("t:outbox:jobs")) == {"job-0", "job-1", "job-2"}
    finally:
        await client.aclose()


async def test_jobs_another_instance_finished_are_not_put_back(redis_server):  # noqa: F811
    redis_server.start()
    one_client, two_client = connect(redis_server.url), connect(redis_server.url)
    one, two = fallback(one_client), fallback(two_client)
    try:
        await one.add("sent-by-two", "x", 1000.0)
        await one.add("still-waiting", "y", 5000.0)
        assert await one.claim(900.0, 60, 10) == []
        [job] = await two.claim(1000.0, 60, 10)
        await two.finish(job.id, 3600)
        assert await one.claim(900.0, 60, 10) == []  # one sees that the other finished it
        redis_server.stop()
        redis_server.start()
        assert await one.claim(900.0, 60, 10) == []
        assert redis_server.client().hkeys("t:outbox:jobs") == ["still-waiting"]  # never sent twice
    finally:
        await one_client.aclose()
        await two_client.aclose()


# ---------------------------------------------------------------- chains


async def test_a_chain_goes_one_job_at_a_time_in_the_order_it_was_added(queue):
    for n in range(1, 13):  # ids that sort otherwise as text ("#10" before "#2"), due before the rest
        assert await queue.add(f"turn:a#{n}", f"a{n}", 990.0 + n / 100, "chat:ana")
    await queue.add("notice", "n", 1000.0)
    await queue.add("turn:l#1", "l1", 1000.0, "chat:luis")
    await queue.add("turn:l#2", "l2", 1000.0, "chat:luis")
    # The jobs waiting behind their chain do not use up the limit.
    first = await queue.claim(1000.0, 60, 3)
    assert sorted(first, key=lambda job: job.id) == [
        Job("notice", "n"), Job("turn:a#1", "a1", "chat:ana"), Job("turn:l#1", "l1", "chat:luis")]
    assert await queue.claim(1000.0, 60, 10) == []  # each chain's first is in flight: the rest wait
    await queue.finish("notice", 3600)
    await queue.finish("turn:l#1", 3600)
    assert await queue.claim(1000.0, 60, 10) == [Job("turn:l#2", "l2", "chat:luis")]
    await queue.finish("turn:l#2", 3600)
    await queue.finish("turn:a#1", 3600)
    assert await queue.claim(1000.0, 60, 10) == [Job("turn:a#2", "a2", "chat:ana")]
    await queue.reschedule("turn:a#2", "a2 again", 1030.0, retrying=True)  # failed: the rest wait too
    assert await queue.claim(1020.0, 60, 10) == []
    assert await queue.hurry(1021.0) == ["turn:a#2"]
    assert await queue.claim(1021.0, 60, 10) == [Job("turn:a#2", "a2 again", "chat:ana")]
    assert await queue.claim(1081.0, 60, 10) == [Job("turn:a#2", "a2 again", "chat:ana")]  # its claimer died
    order = []
    while claimed := await queue.claim(1200.0, 60, 10):
        [job] = claimed
        order.append(job.id)
        await queue.finish(job.id, 3600)
    assert order == [f"turn:a#{n}" for n in range(2, 13)]
    assert await queue.pending() == 0


async def test_a_chain_keeps_its_order_when_memory_moves_to_redis(redis_server):  # noqa: F811
    client = connect(redis_server.url)
    queue = fallback(client)
    try:
        for n in range(1, 12):  # Redis is not running: these wait in memory
            assert await queue.add(f"turn:a#{n}", f"a{n}", 1000.0, "chat:ana")
        assert [job.id for job in await queue.claim(1000.0, 60, 10)] == ["turn:a#1"]
        await queue.reschedule("turn:a#1", "a1", 1000.0)  # not sent: back in its place
        redis_server.start()
        order = []
        while claimed := await queue.claim(1000.0 + len(order), 60, 10):
            assert queue.mode == "redis"
            [job] = claimed
            order.append(job.id)
            await queue.finish(job.id, 3600)
        assert order == [f"turn:a#{n}" for n in range(1, 12)]
    finally:
        await client.aclose()


async def test_a_file_from_before_chains_gets_them(tmp_path):
    path = tmp_path / "orders.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE outbox (id TEXT PRIMARY KEY, payload TEXT NOT NULL, due REAL NOT NULL,
            state TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'retrying', 'done')),
            sid TEXT UNIQUE, status TEXT, error_code INTEGER, keep_until REAL) STRICT;
        INSERT INTO outbox (id, payload, due) VALUES ('waiting-since-before', 'p', 1000.0);
    """)
    old.close()
    store = SqliteOrderStore(path)
    queue = store.queue(Clock())
    await queue.add("turn:a#1", "a1", 1000.0, "chat:ana")
    await queue.add("turn:a#2", "a2", 1000.0, "chat:ana")
    assert await queue.claim(1000.0, 60, 10) == [Job("waiting-since-before", "p"), Job("turn:a#1", "a1", "chat:ana")]
    await store.close()
