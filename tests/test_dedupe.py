from __future__ import annotations

import asyncio

import pytest
from servicekit import SHARED_REDIS, prefix  # noqa: F401  (fixture)

from engine.service.dedupe import REMEMBER_SECONDS, SeenMessages
from engine.storage.redis_store import RedisStore, connect
from engine.storage.store import MemoryStore

pytestmark = pytest.mark.anyio


async def first_time(store, seen: SeenMessages, sid: str) -> bool:
    """What the service does with a delivery: run the mark, True when it was the first."""
    return bool((await store.run([seen.mark(sid)]))[0])


async def test_only_the_first_of_many_concurrent_deliveries_counts(prefix):  # noqa: F811
    clients = [connect(SHARED_REDIS), connect(SHARED_REDIS)]
    stores = [RedisStore(client, prefix) for client in clients]
    seen = [SeenMessages(store) for store in stores]
    firsts = await asyncio.gather(*(first_time(stores[n % 2], seen[n % 2], "SM123") for n in range(10)))
    assert firsts.count(True) == 1
    assert 86390 < await RedisStore(clients[0], prefix).ttl(SeenMessages.key("SM123")) <= REMEMBER_SECONDS
    await seen[0].forget("SM123")
    assert await first_time(stores[1], seen[1], "SM123") is True
    for client in clients:
        await client.aclose()


async def test_memory_remembers_for_a_day():
    now = [0.0]
    store = MemoryStore(lambda: now[0])
    seen = SeenMessages(store)
    assert await first_time(store, seen, "SM1") is True
    now[0] += REMEMBER_SECONDS - 1
    assert await first_time(store, seen, "SM1") is False
    now[0] += 1
    assert await first_time(store, seen, "SM1") is True
