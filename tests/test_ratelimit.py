from __future__ import annotations

import pytest
from servicekit import SHARED_REDIS, prefix  # noqa: F401  (fixture)

from engine.service.dedupe import SeenMessages
from engine.service.locks import CustomerLocks
from engine.service.ratelimit import RateLimiter, RateVerdict
from engine.storage.redis_line import RedisLine
from engine.storage.redis_store import RedisStore
from engine.storage.store import MemoryStore

pytestmark = pytest.mark.anyio


async def check(limiter: RateLimiter, customer: str) -> RateVerdict:
    """What the service does with a message: run the counts, then read the verdict."""
    return await limiter.verdict(customer, await limiter._store.run(limiter.count(customer)))

ANA, BETO = "+525511111111", "+525522222222"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # the start of a minute

    def __call__(self) -> float:
        return self.now


async def test_over_the_customer_limit_the_first_refusal_notifies_then_silence():
    clock = Clock()
    limiter = RateLimiter(MemoryStore(clock), per_customer=3, overall=0, now=clock)
    verdicts = [await check(limiter, ANA) for _ in range(6)]
    assert verdicts == [RateVerdict(True)] * 3 + [RateVerdict(False, True), RateVerdict(False, False), RateVerdict(False, False)]
    assert await check(limiter, BETO) == RateVerdict(True)  # others are not affected
    clock.now += 60
    assert await check(limiter, ANA) == RateVerdict(True)  # a new window


async def test_zero_means_no_limit():
    clock = Clock()
    limiter = RateLimiter(MemoryStore(clock), per_customer=0, overall=0, now=clock)
    assert all([(await check(limiter, ANA)).allowed for _ in range(100)])


async def test_limits_are_shared_by_instances_through_redis(prefix):  # noqa: F811
    clock = Clock()
    clients = [RedisLine.from_url(SHARED_REDIS), RedisLine.from_url(SHARED_REDIS)]
    limiters = [RateLimiter(RedisStore(c, prefix), per_customer=4, overall=8, now=clock) for c in clients]
    ana = [await check(limiters[n % 2], ANA) for n in range(6)]
    assert [v.allowed for v in ana] == [True] * 4 + [False, False]
    assert [v.notify for v in ana] == [False] * 4 + [True, False]
    beto = [await check(limiters[n % 2], BETO) for n in range(4)]
    assert [v.allowed for v in beto] == [True, True, False, False]  # 6 + 2 = 8 overall
    assert [v.notify for v in beto] == [False, False, True, False]
    for client in clients:
        await client.aclose()


async def test_a_repeated_message_counts_against_no_limit_and_the_repeat_of_a_refused_one_neither():
    clock = Clock()
    store = MemoryStore(clock)
    limiter = RateLimiter(store, per_customer=2, overall=3, now=clock)
    locks, seen = CustomerLocks(store), SeenMessages()

    async def deliver(customer: str, sid: str) -> str:
        """What the service does: the repeat gate first, then the limits, with the turn."""
        async with locks.turn(customer, gates=[seen.gate(sid), limiter.gate(customer, seen.refused(sid))]) as turn:
            if turn.admitted:
                turn.writes += seen.handled(sid, ("ok",))
                return "handled"
        return "repeat" if len(turn.checked) == 1 else "refused"

    assert [await deliver(ANA, sid) for sid in "11221"] == ["handled", "repeat", "handled", "repeat", "repeat"]
    assert [await deliver(ANA, sid) for sid in "3333"] == ["refused", "repeat", "repeat", "repeat"]
    window = int(clock.now) // 60
    assert await store.get(f"rl:c:{ANA}:{window}") == "3" and await store.get(f"rl:all:{window}") == "3"
    assert await deliver(BETO, "4") == "refused"  # the bot's limit: 4 > 3
    assert await deliver(BETO, "4") == "repeat"
    assert await store.get(f"rl:all:{window}") == "4"
