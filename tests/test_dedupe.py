from __future__ import annotations

import asyncio

import pytest

from engine.dedupe import REMEMBER_SECONDS, SeenMessages
from engine.redis_store import RedisStore, connect
from engine.store import MemoryStore
from servicekit import SHARED_REDIS, prefix  # noqa: F401  (fixture)

pytestmark = pytest.mark.anyio


async def test_only_the_first_of_many_concurrent_deliveries_counts(prefix):  # noqa: F811
    clients = [connect(SHARED_REDIS), connect(SHARED_REDIS)]
    seen = [SeenMessages(RedisStore(client, prefix)) for client in clients]
    firsts = await asyncio.gather(*(seen[n % 2].first_time("SM123") for n in range(10)))
    assert firsts.count(True) == 1
    assert 86390 < await RedisStore(clients[0], prefix).ttl(SeenMessages.key("SM123")) <= REMEMBER_SECONDS
    await seen[0].forget("SM123")
    assert await seen[1].first_time("SM123") is True
    for client in clients:
        await client.aclose()


async def test_memory_remembers_for_a_day():
    now = [0.0]
    seen = SeenMessages(MemoryStore(lambda: now[0]))
    assert await seen.first_time("SM1") is True
    now[0] += REMEMBER_SECONDS - 1
    assert await seen.first_time("SM1") is False
    now[0] += 1
    assert await seen.first_time("SM1") is True
