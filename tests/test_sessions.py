from __future__ import annotations

import time

import pytest
from servicekit import SHARED_REDIS, prefix  # noqa: F401  (fixture)

from engine.model.session import Line, Session
from engine.service.sessions import CART_KEPT_SECONDS, Sessions
from engine.storage.redis_line import RedisLine
from engine.storage.redis_store import RedisStore
from engine.storage.store import MemoryStore

pytestmark = pytest.mark.anyio

CUSTOMER = "+525512345678"


def test_an_idle_session_lives_session_minutes_and_a_cart_a_day():
    sessions = Sessions(MemoryStore(time.time), session_minutes=30)
    empty = Session(flows_hash="h", step="pedir")
    assert sessions.ttl(empty) == 30 * 60
    assert sessions.ttl(empty.evolve(cart=(Line("pastor", 2, {"tortilla": "maiz"}),))) == CART_KEPT_SECONDS
    assert sessions.ttl(empty.evolve(pending=(Line("pastor"),))) == CART_KEPT_SECONDS


async def test_sessions_round_trip_through_redis_with_their_expiry(prefix):  # noqa: F811
    client = RedisLine.from_url(SHARED_REDIS)
    store = RedisStore(client, prefix)
    sessions = Sessions(store, session_minutes=30)
    assert await sessions.load(CUSTOMER) is None
    session = Session(flows_hash="h", step="entrega", cart=(Line("pastor", 3, {"tortilla": "harina"}),), last_seen=5)
    assert await sessions.save(CUSTOMER, session) == CART_KEPT_SECONDS
    assert await sessions.load(CUSTOMER) == session
    assert 86390 < await store.ttl(Sessions.key(CUSTOMER)) <= 86400
    await sessions.save(CUSTOMER, session.evolve(cart=()))
    assert 1790 < await store.ttl(Sessions.key(CUSTOMER)) <= 1800
    await client.aclose()


async def test_an_unreadable_session_starts_over():
    store = MemoryStore(time.time)
    await store.set(Sessions.key(CUSTOMER), "{not json", 60)
    assert await Sessions(store, 30).load(CUSTOMER) is None
    await store.set(Sessions.key(CUSTOMER), '{"version":0,"flows_hash":"h"}', 60)
    assert await Sessions(store, 30).load(CUSTOMER) is None
