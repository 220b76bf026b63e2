"""Nothing lost where Render really runs the bot: a Key Value that restarts empty (the free plan
keeps nothing on disk) and a Key Value whose memory is full, under the Blueprint's eviction policy,
while orders wait for the order store and notices wait for Twilio.

The app is the one ``create_app`` builds, in this test's event loop (``tests/test_operations.py``'s
harness): Supabase faked at PostgREST's HTTP boundary, Twilio the loopback fake, Redis a private
``redis-server`` that the test stops, starts empty or fills up.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
import redis
import yaml
from servicekit import PUBLIC_URL, TOKEN, RedisServer, redis_server, wait_for  # noqa: F401  (fixture)
from test_operations import (  # noqa: F401  (fake, log and postgrest are fixtures)
    ACCOUNT_SID,
    ADMIN,
    ANA,
    BOT,
    FAST,
    ORDER,
    SERVICE_KEY,
    SUPABASE,
    UNAVAILABLE,
    Postgrest,
    RunningClock,
    fake,
    log,
    postgrest,
    running,
    sent_to,
    twilio_sender,
    until,
)
from twilio_fake import TwilioFake, created, status

from engine.http.settings import load_settings
from engine.orders.sqlite import SqliteOrderStore
from engine.orders.supabase import SupabaseOrderStore

pytestmark = pytest.mark.anyio

BLUEPRINT = Path(__file__).resolve().parent.parent / "render.yaml"
LUIS = "whatsapp:+5215511112222"
PREFIX = "kv:"


def settings(redis_url: str) -> Any:
    return load_settings({
        "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_WHATSAPP_CLIENTES": BOT,
        "PUBLIC_URL": PUBLIC_URL, "ADMIN_PHONE_NUMBER": ADMIN, "SUPABASE_URL": SUPABASE, "SUPABASE_KEY": SERVICE_KEY,
        "REDIS_URL": redis_url, "REDIS_KEY_PREFIX": PREFIX, "REDIS_PROBE_SECONDS": "0.05",
    })


def blueprint_policy() -> str:
    document = yaml.safe_load(BLUEPRINT.read_text())
    (key_value,) = [service for service in document["services"] if service["type"] == "keyvalue"]
    return key_value["maxmemoryPolicy"]


class SmallRedis(RedisServer):
    """A private ``redis-server`` with little memory and the Blueprint's eviction policy."""

    def __init__(self, directory: Path, maxmemory: str, policy: str) -> None:
        super().__init__(directory)
        self.limits = ["--maxmemory", maxmemory, "--maxmemory-policy", policy]

    def start(self) -> None:
        assert self.process is None
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory), *self.limits],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, what="redis-server to answer")


@pytest.fixture
def small_redis(tmp_path: Path) -> Iterator[SmallRedis]:
    server = SmallRedis(tmp_path, "3mb", blueprint_policy())
    try:
        yield server
    finally:
        server.stop()


def everything_down(postgrest: Postgrest, twilio: TwilioFake) -> None:
    postgrest.failures.extend([UNAVAILABLE] * 10_000)  # Supabase down: orders and the outbox
    postgrest.outbox.failing = True
    twilio.default = status(503)


def everything_back(postgrest: Postgrest, twilio: TwilioFake) -> None:
    postgrest.failures.clear()
    postgrest.outbox.failing = False
    twilio.default = created()


def waiting_in(client: redis.Redis, queue: str) -> int:
    return int(client.hlen(f"{PREFIX}{queue}:jobs"))


async def wait_for_queues(client: redis.Redis) -> None:
    """Until the order waits in Redis for the store and the notice waits there for Twilio."""
    await until(lambda: _now(waiting_in(client, "waiting-orders") == 1 and waiting_in(client, "outbox") == 1),
                bool, "the order and the notice to wait in Redis")


async def _now(value: Any) -> Any:
    return value


async def told_once(twilio: TwilioFake, app: Any) -> tuple[list[str], list[str]]:
    """What Ana and the admin were sent once everything came back and the outbox emptied."""
    await until(lambda: _now(len(sent_to(twilio, ANA)) >= 1 and len(sent_to(twilio, ADMIN)) >= 2), bool,
                "the confirmation, the new-order notice and the handover notice")
    await app.settled()
    await until(app.services.waiting.queue.pending, lambda n: n == 0, "no order waiting")
    return sent_to(twilio, ANA), sent_to(twilio, ADMIN)


def check_nothing_lost_nothing_twice(postgrest: Postgrest, to_ana: list[str], to_admin: list[str]) -> None:
    assert postgrest.saved == 1 and len(postgrest.rows) == 1  # the order, once
    assert len(to_ana) == 1 and "Tu pedido es el *#1042*" in to_ana[0]
    assert len(to_admin) == 2
    assert sum("Pedido nuevo *#1042*" in text for text in to_admin) == 1
    assert sum("quiere hablar con alguien" in text for text in to_admin) == 1


async def test_a_key_value_restarted_empty_loses_no_waiting_order_and_no_notice(
    flows, fake, postgrest, log, caplog, redis_server  # noqa: F811
):
    redis_server.start()
    everything_down(postgrest, fake)
    store = await SupabaseOrderStore.connect(SUPABASE, SERVICE_KEY)
    async with running(settings(redis_server.url), flows, clock=RunningClock(), log=log,
                       sender=twilio_sender(fake, log), orders=store, retry=FAST) as app:
        answers = await app.talk(ORDER)
        assert "En un momento te mando su número" in answers[-1][0]  # the order waits for the store
        assert await app.say("hablar con alguien", sender=LUIS)  # its notice waits: no store, no Twilio
        await wait_for_queues(redis_server.client())

        redis_server.stop()
        redis_server.start()  # the free Key Value restarted: it keeps nothing
        plain = redis_server.client()
        assert waiting_in(plain, "waiting-orders") == waiting_in(plain, "outbox") == 0
        await wait_for_queues(plain)  # put back by the instance that queued them
        assert "Redis volvió vacío (se reinició)" in caplog.text

        everything_back(postgrest, fake)
        to_ana, to_admin = await told_once(fake, app)

        redis_server.stop()  # once in the order store, the notices owe Redis nothing
        redis_server.start()
        assert await app.say("hola", sender="whatsapp:+5215533334444")
        await app.settled()
    check_nothing_lost_nothing_twice(postgrest, sent_to(fake, ANA), sent_to(fake, ADMIN))
    assert (sent_to(fake, ANA), sent_to(fake, ADMIN)) == (to_ana, to_admin)


async def test_a_full_key_value_under_the_blueprints_policy_evicts_sessions_never_the_queues(
    flows, fake, postgrest, log, small_redis  # noqa: F811
):
    small_redis.start()
    plain = small_redis.client()
    everything_down(postgrest, fake)
    store = await SupabaseOrderStore.connect(SUPABASE, SERVICE_KEY)
    async with running(settings(small_redis.url), flows, clock=RunningClock(), log=log,
                       sender=twilio_sender(fake, log), orders=store, retry=FAST) as app:
        assert app.services.store.mode == "redis"
        await app.talk(ORDER)
        assert await app.say("hablar con alguien", sender=LUIS)
        await wait_for_queues(plain)

        # Other customers' sessions fill the memory, many times over: with a TTL, as every session has.
        filler = "x" * 2000
        for batch in range(30):
            with plain.pipeline(transaction=False) as pipe:
                for n in range(200):
                    pipe.set(f"{PREFIX}s:+5255{batch:04d}{n:04d}", filler, ex=1800)
                pipe.execute()
        info = plain.info()
        assert info["evicted_keys"] > 0 and info["used_memory"] <= info["maxmemory"] * 1.1  # it was full
        assert waiting_in(plain, "waiting-orders") == 1 and waiting_in(plain, "outbox") == 1  # never evicted

        everything_back(postgrest, fake)
        to_ana, to_admin = await told_once(fake, app)
        assert await app.say("hola", sender="whatsapp:+5215533334444")  # a new session still finds room
    check_nothing_lost_nothing_twice(postgrest, to_ana, to_admin)


QUEUE_KEYS = ("jobs", "due", "retrying", "epoch")
"""The keys of a queue in Redis (``engine.storage.redis_jobqueue``): the only ones without a TTL."""


async def test_every_key_but_the_queues_carries_a_ttl(flows, fake, log, tmp_path, redis_server):  # noqa: F811
    """What volatile-lru may evict is what can be lost: sessions, seen marks, rate limits, locks,
    error throttles, the admin's overrides. Everything the service writes while it takes an order,
    hands a customer over, follows the admin's commands and refuses a customer over the limit."""
    redis_server.start()
    environment = dataclasses.replace(settings(redis_server.url), supabase_url=None, supabase_key=None,
                                      rate_limit_per_customer=12)
    async with running(environment, flows, clock=RunningClock(), log=log, sender=twilio_sender(fake, log),
                       orders=SqliteOrderStore(tmp_path / "orders.sqlite3"), retry=FAST) as app:
        await app.talk(ORDER, twice=True)
        await app.say("#listo 1042", sender=ADMIN)
        await app.say("#cerrar", sender=ADMIN)
        await app.say("#abrir", sender=ADMIN)
        await app.say("hablar con alguien", sender=LUIS)
        await app.say("¿me oyes?", sender=LUIS)
        for _ in range(14):  # past the limit
            await app.say("menú", sender="whatsapp:+5215533334444")
        await app.settled()
    client = redis_server.client()
    keys = sorted(client.scan_iter(match=PREFIX + "*"))
    kinds = {key[len(PREFIX):].split(":")[0] for key in keys}
    assert {"s", "seen", "rl", "overrides"} <= kinds, kinds  # the test saw the service's keys
    without_ttl = [key for key in keys if client.ttl(key) < 0]
    assert all(key.rsplit(":", 1)[-1] in QUEUE_KEYS for key in without_ttl), without_ttl
