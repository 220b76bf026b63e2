"""The outbox and its courier end to end: the real twilio client against the local fake, the
queue in the shared Redis (a prefix of the test's own) or in memory when Redis is away."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from itertools import pairwise

import pytest
from servicekit import SHARED_REDIS, prefix, redis_server  # noqa: F401  (fixtures)
from twilio_fake import HANG, TwilioFake, created, error, status

from engine.channels.twilio.rest import BaseUrlTwilioHttpClient, TwilioSender
from engine.orders.sqlite import SqliteOrderStore
from engine.service.courier import Courier, Undeliverable
from engine.service.durable import DurableQueue
from engine.service.outbox import REPORT_KIND, Outbox
from engine.service.retry import RetryPolicy
from engine.storage.jobqueue import FallbackJobQueue, MemoryJobQueue
from engine.storage.redis_jobqueue import RedisJobQueue
from engine.storage.redis_store import connect

pytestmark = pytest.mark.anyio

ADMIN = "+525512345678"
CUSTOMER = "+525587654321"
TEMPLATE = "HX" + "b" * 32
FAST = RetryPolicy(base=0.02, factor=2, cap=0.08, max_attempts=20, random=lambda: 1.0)
"""Waits of exactly 0.02, 0.04, 0.08, 0.08... s (a draw of 1.0: the ceiling itself)."""


@pytest.fixture
def fake():
    server = TwilioFake().start()
    yield server
    server.stop()


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO, logger="test.outbox")
    return logging.getLogger("test.outbox")


@dataclass
class App:
    """What an app's lifespan would hold: the Redis client, the sender, the outbox and its courier."""

    outbox: Outbox
    courier: Courier
    queue: FallbackJobQueue | DurableQueue
    sender: TwilioSender
    client: object
    reports: list[Undeliverable] = field(default_factory=list)
    orders: SqliteOrderStore | None = None
    """The order store whose outbox table is the queue (``build(..., store=path)``)."""

    async def close(self) -> None:
        """Stop as the app's lifespan would (closing twice is harmless)."""
        await self.courier.stop()
        await self.sender.aclose()
        await self.client.aclose()
        if self.orders is not None:
            await self.orders.close()


@pytest.fixture
async def build(fake, log):
    """``await build(redis_url, prefix, ...)``: a started app; every app is closed after the test,
    failed or not, so no worker outlives its test."""
    apps: list[App] = []

    async def make(redis_url: str, prefix: str, policy: RetryPolicy = FAST, store=None, **options) -> App:  # noqa: F811
        """``store``: a SQLite file whose outbox is the queue (Redis the spare), as the service runs."""
        client = connect(redis_url)
        queue = spare = FallbackJobQueue(RedisJobQueue(client, prefix), MemoryJobQueue(), log, probe_every=0.05)
        orders = None
        if store is not None:
            orders = SqliteOrderStore(store)
            queue = DurableQueue(orders.queue(time.time), spare, log, time.time)
            options.setdefault("deliveries", queue)
        sender = TwilioSender("AC" + "1" * 32, "outbox-test-token", "whatsapp:+14155238886", log, timeout=0.5,
                              http_client=lambda: BaseUrlTwilioHttpClient(fake.url),
                              status_callback="https://bot.example.test/twilio/status")
        reports: list[Undeliverable] = []

        async def report(failure: Undeliverable) -> None:
            reports.append(failure)

        options.setdefault("poll", 0.02)
        options.setdefault("early_wait", 0.0)  # an unknown message's callback is ignored at once
        outbox = Outbox(queue)
        courier = Courier(outbox, sender, policy, log, report=report, lease=5.0, **options)
        courier.start()
        apps.append(App(outbox, courier, queue, sender, client, reports, orders))
        return apps[-1]

    yield make
    for app in apps:
        await app.close()


async def until(condition, timeout: float = 10.0, what: str = "condition"):
    """Wait for ``await condition()`` to be truthy, letting the worker run; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (result := await condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
    return result


def bodies(requests) -> list[str]:
    return [r.form.get("Body") or r.form.get("ContentSid") for r in requests]


async def test_a_message_is_delivered_and_leaves_the_outbox(fake, prefix, build):  # noqa: F811
    app = await build(SHARED_REDIS, prefix)
    assert await app.outbox.enqueue("order:1001", ADMIN, "🧾 Pedido #1001", "order")
    [request] = await fake.wait_for(lambda seen: len(seen) == 1)
    assert request.form == {"From": "whatsapp:+14155238886", "To": "whatsapp:+5215512345678", "Body": "🧾 Pedido #1001",
                            "StatusCallback": "https://bot.example.test/twilio/status"}
    await until(lambda: _empty(app), what="the outbox to empty")


async def _empty(app: App) -> bool:
    return await app.queue.pending() == 0


async def test_transient_failures_are_retried_with_growing_waits(fake, prefix, build):  # noqa: F811
    fake.answer(status(500), error(429, 20429, "Too Many Requests"), HANG, status(503))
    app = await build(SHARED_REDIS, prefix)
    await app.outbox.enqueue("order:1002", ADMIN, "🧾 Pedido #1002", "order")
    seen = await fake.wait_for(lambda seen: len(seen) == 5 and seen[-1].answered == 201)
    assert [r.answered for r in seen] == [500, 429, 0, 503, 201]
    assert bodies(seen) == ["🧾 Pedido #1002"] * 5
    gaps = [later.at - earlier.at for earlier, later in pairwise(seen)]
    # 0.02 and 0.04 after the first two; the hung request costs its 0.5 s timeout plus 0.08.
    for gap, least in zip(gaps, [0.02, 0.04, 0.5 + 0.08, 0.08]):
        assert gap >= least - 0.005
    await until(lambda: _empty(app))
    assert app.reports == []


async def test_giving_up_after_max_attempts_is_reported(fake, prefix, build):  # noqa: F811
    fake.default = status(500)
    app = await build(SHARED_REDIS, prefix, policy=RetryPolicy(base=0.01, cap=0.01, max_attempts=3))
    await app.outbox.enqueue("order:1003", ADMIN, "🧾 Pedido #1003", "order")
    await until(lambda: _async(app.reports), what="a report")
    [failure] = app.reports
    assert (failure.event_id, failure.kind, failure.attempts) == ("order:1003", "order", 3)
    assert failure.describe() == "No se pudo enviar el mensaje «order» a +5255****5678: Twilio respondió 500."
    assert await app.queue.pending() == 0  # nothing left that could be sent again
    assert len(fake.requests) == 3


async def _async(value):
    return value


@pytest.mark.parametrize("code", [21211, 63003, 21610])
async def test_a_permanent_error_is_not_retried_and_is_reported(fake, prefix, build, caplog, code):  # noqa: F811
    fake.answer(error(400, code, "nope"))
    app = await build(SHARED_REDIS, prefix)
    await app.outbox.enqueue("status:1004", CUSTOMER, "Tu pedido #1004 está listo 🌮", "status")
    await until(lambda: _async(app.reports), what="a report")
    [failure] = app.reports
    assert (failure.event_id, failure.to, failure.code, failure.attempts) == ("status:1004", CUSTOMER, code, 0)
    assert await app.queue.pending() == 0
    assert len(fake.requests) == 1
    errors = [r.getMessage() for r in caplog.records if r.name == "test.outbox" and r.levelno == logging.ERROR]
    assert errors == [f"❗ {failure.describe()}"] and str(code) in errors[0]
    assert CUSTOMER not in caplog.text  # masked everywhere


async def test_a_failed_error_report_is_logged_but_not_reported_again(fake, prefix, build, caplog):  # noqa: F811
    fake.answer(error(400, 21211, "nope"))
    app = await build(SHARED_REDIS, prefix)
    await app.outbox.enqueue("report:1", ADMIN, "❗ algo falló", REPORT_KIND)
    await until(lambda: _empty(app))
    assert app.reports == []
    assert any("error_report" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


async def test_outside_the_24_hour_window_the_template_goes_instead(fake, prefix, build):  # noqa: F811
    fake.answer(error(400, 63016, "Outside the allowed window"))
    app = await build(SHARED_REDIS, prefix, template_sid=TEMPLATE)
    await app.outbox.enqueue("order:1005", ADMIN, "🧾 Pedido #1005\nTotal:\t$250\n\n2 tacos", "order")
    first, second = await fake.wait_for(lambda seen: len(seen) == 2)
    assert first.form["Body"].startswith("🧾 Pedido #1005") and first.answered == 400
    assert second.answered == 201 and "Body" not in second.form
    assert second.form["ContentSid"] == TEMPLATE and second.form["To"] == "whatsapp:+5215512345678"
    assert json.loads(second.form["ContentVariables"]) == {"1": "🧾 Pedido #1005 · Total: $250 · 2 tacos"}
    await until(lambda: _empty(app))
    assert len(fake.requests) == 2


async def test_outside_the_window_without_a_template_the_message_waits(fake, prefix, build, caplog):  # noqa: F811
    fake.answer(error(400, 63016, "Outside the allowed window"))
    app = await build(SHARED_REDIS, prefix, window_retry=3600)
    await app.outbox.enqueue("order:1006", ADMIN, "🧾 Pedido #1006", "order")
    await fake.wait_for(lambda seen: len(seen) == 1)
    await until(lambda: _async(any("24 h" in r.getMessage() for r in caplog.records)), what="the warning")
    assert await app.queue.pending() == 1 and app.reports == []

    await app.outbox.wake()  # the admin wrote to the bot: the window is open again
    seen = await fake.wait_for(lambda seen: len(seen) == 2)
    assert seen[1].answered == 201 and seen[1].form["Body"] == "🧾 Pedido #1006"
    await until(lambda: _empty(app))


async def test_the_same_event_twice_sends_once(fake, prefix, build):  # noqa: F811
    app = await build(SHARED_REDIS, prefix)
    assert await app.outbox.enqueue("order:1007", ADMIN, "🧾 Pedido #1007", "order")
    assert not await app.outbox.enqueue("order:1007", ADMIN, "🧾 Pedido #1007", "order")
    await until(lambda: _empty(app))
    assert not await app.outbox.enqueue("order:1007", ADMIN, "🧾 Pedido #1007", "order")  # already sent
    assert await app.queue.pending() == 0
    assert len(fake.requests) == 1


async def test_two_instances_on_one_redis_send_each_event_once(fake, prefix, build):  # noqa: F811
    one = await build(SHARED_REDIS, prefix)
    two = await build(SHARED_REDIS, prefix)
    events = [f"order:{n}" for n in range(2000, 2020)]
    for event in events:  # both instances got every webhook (a retried delivery)
        await one.outbox.enqueue(event, ADMIN, event, "order")
        await two.outbox.enqueue(event, ADMIN, event, "order")
    await until(lambda: _empty(one))
    assert sorted(bodies(fake.requests)) == sorted(events)


async def test_what_waits_survives_a_restart_and_goes_once(fake, prefix, build):  # noqa: F811
    fake.default = status(503)
    first = await build(SHARED_REDIS, prefix)
    await first.outbox.enqueue("order:1008", ADMIN, "🧾 Pedido #1008", "order")
    await fake.wait_for(lambda seen: len(seen) >= 2)  # Twilio is down: tried and tried again
    await first.close()
    del first

    fake.default = created()
    again = await build(SHARED_REDIS, prefix)  # a new process: only Redis remembers
    sent = await fake.wait_for(lambda seen: len([r for r in seen if r.answered == 201]) == 1)
    assert sent[-1].form["Body"] == "🧾 Pedido #1008"
    await until(lambda: _empty(again))
    assert not await again.outbox.enqueue("order:1008", ADMIN, "🧾 Pedido #1008", "order")
    assert len(fake.sent()) == 1


async def test_stopping_mid_send_keeps_the_message(fake, prefix, build):  # noqa: F811
    fake.answer(HANG)
    app = await build(SHARED_REDIS, prefix)
    await app.outbox.enqueue("order:1009", ADMIN, "🧾 Pedido #1009", "order")
    await fake.wait_for(lambda seen: len(seen) == 1)
    await app.courier.stop(grace=0.05)  # shorter than the send's timeout: the send is cut
    assert await app.queue.pending() == 1


async def test_without_redis_memory_delivers(fake, build, redis_server):  # noqa: F811
    app = await build(redis_server.url, "t:")  # that Redis is not running
    await app.outbox.enqueue("order:1010", ADMIN, "🧾 Pedido #1010", "order")
    assert not await app.outbox.enqueue("order:1010", ADMIN, "🧾 Pedido #1010", "order")
    await fake.wait_for(lambda seen: len(seen) == 1 and seen[0].answered == 201)
    assert app.queue.mode == "memory"
    await until(lambda: _empty(app))


async def test_what_waits_in_memory_moves_to_redis_when_it_comes_back(fake, build, redis_server):  # noqa: F811
    fake.default = status(500)
    app = await build(redis_server.url, "t:")
    await app.outbox.enqueue("order:1011", ADMIN, "🧾 Pedido #1011", "order")
    await fake.wait_for(lambda seen: len(seen) >= 1)
    assert app.queue.mode == "memory"

    redis_server.start()
    plain = redis_server.client()
    await until(lambda: _async(plain.hlen("t:outbox:jobs") == 1), what="the message to move to Redis")
    assert app.queue.mode == "redis"

    fake.default = created()
    await fake.wait_for(lambda seen: len([r for r in seen if r.answered == 201]) == 1)
    await until(lambda: _async(plain.hlen("t:outbox:jobs") == 0 and plain.exists("t:outbox:done:order:1011")))
    assert len(fake.sent()) == 1
    plain.close()


async def test_when_redis_goes_away_new_messages_still_go_out(fake, build, redis_server):  # noqa: F811
    redis_server.start()
    app = await build(redis_server.url, "t:")
    await app.outbox.enqueue("order:1012", ADMIN, "🧾 Pedido #1012", "order")
    await fake.wait_for(lambda seen: len(seen) == 1)
    assert app.queue.mode == "redis"

    redis_server.stop()
    await app.outbox.enqueue("order:1013", ADMIN, "🧾 Pedido #1013", "order")
    seen = await fake.wait_for(lambda seen: len(seen) == 2)
    assert seen[1].form["Body"] == "🧾 Pedido #1013" and seen[1].answered == 201
    assert app.queue.mode == "memory"


async def test_a_body_longer_than_whatsapp_takes_goes_as_several_messages_in_order(fake, prefix, build):  # noqa: F811
    app = await build(SHARED_REDIS, prefix)
    paragraphs = [f"Línea {n}: " + "x" * 500 for n in range(6)]  # about 3,100 characters in all
    assert await app.outbox.enqueue("long", ADMIN, "\n\n".join(paragraphs), "forward")
    sent = await fake.wait_for(lambda rs: len([r for r in rs if r.answered == 201]) >= 2)
    parts = bodies(sent)
    assert len(parts) >= 2 and all(len(part) <= 1600 for part in parts)
    assert "\n\n".join(parts).replace("\n\n", "") == "".join(paragraphs)  # nothing lost, in order
    assert not await app.outbox.enqueue("long", ADMIN, "\n\n".join(paragraphs), "forward")  # once per event


async def test_outside_the_window_only_the_admin_gets_the_template(fake, prefix, build):  # noqa: F811
    fake.answer(error(400, 63016), error(400, 63016))
    app = await build(SHARED_REDIS, prefix, template_sid=TEMPLATE, template_for=ADMIN)
    await app.outbox.enqueue("status", CUSTOMER, "Tu pedido #1001 está listo", "status")
    await until(lambda: asyncio.sleep(0, app.reports), what="the customer's message to be reported")
    assert [r.code for r in app.reports] == [63016]
    assert all(r.form.get("ContentSid") is None for r in fake.requests)  # no template for a customer
    await app.outbox.enqueue("order", ADMIN, "🧾 Pedido #1001", "order")
    sent = await fake.wait_for(lambda rs: any(r.form.get("ContentSid") for r in rs))
    assert [r.form.get("ContentSid") for r in sent if r.answered == 201] == [TEMPLATE]



# --- status callbacks ---------------------------------------------------------------------------

def outbox_rows(path) -> dict[str, tuple]:
    import sqlite3

    with sqlite3.connect(path) as db:
        return {row[0]: row[1:] for row in db.execute("SELECT id, state, sid, status, error_code FROM outbox")}


async def sent_and_recorded(fake, app: App, count: int) -> list:
    """The first ``count`` messages Twilio accepted, once the outbox has recorded their SIDs."""
    sent = await fake.wait_for(lambda seen: len([r for r in seen if r.answered == 201]) >= count)
    await until(lambda: _empty(app), what="the outbox to record the sends")
    return [r for r in sent if r.answered == 201][:count]


async def test_statuses_are_recorded_per_message_and_never_move_backwards(fake, prefix, build, tmp_path):  # noqa: F811
    path = tmp_path / "orders.sqlite3"
    app = await build(SHARED_REDIS, prefix, store=path)
    await app.outbox.enqueue("order:2001", ADMIN, "🧾 Pedido #2001", "order")
    [message] = await sent_and_recorded(fake, app, 1)
    assert outbox_rows(path)["order:2001"] == ("done", message.sid, "queued", None)
    assert [await app.courier.track(message.sid, status, None) for status in ("delivered", "sent", "delivered", "read")] == [
        "recorded", "ignored", "ignored", "recorded"]  # out of order and twice: no step back
    assert outbox_rows(path)["order:2001"] == ("done", message.sid, "read", None)
    assert await app.courier.track("SM" + "0" * 32, "delivered", None) == "ignored"  # unknown: nothing done
    assert len(fake.requests) == 1 and app.reports == []


async def test_a_63016_reported_later_for_the_admin_sends_the_template_once(fake, prefix, build, tmp_path):  # noqa: F811
    path = tmp_path / "orders.sqlite3"
    app = await build(SHARED_REDIS, prefix, store=path, template_sid=TEMPLATE, template_for=ADMIN)
    await app.outbox.enqueue("order:2002", ADMIN, "🧾 Pedido #2002\nTotal: $75", "order")
    [text] = await sent_and_recorded(fake, app, 1)
    assert text.form["Body"].startswith("🧾 Pedido #2002")  # Twilio accepted it: queued, for now
    assert await app.courier.track(text.sid, "failed", 63016) == "template"
    [_, template] = await sent_and_recorded(fake, app, 2)
    assert template.form["ContentSid"] == TEMPLATE and "Body" not in template.form
    assert json.loads(template.form["ContentVariables"]) == {"1": "🧾 Pedido #2002 · Total: $75"}
    assert await app.courier.track(text.sid, "failed", 63016) == "ignored"  # the same callback twice
    assert await app.courier.track(text.sid, "undelivered", 63016) == "ignored"  # the old message, late
    assert await app.courier.track(template.sid, "delivered", None) == "recorded"
    assert outbox_rows(path)["order:2002"] == ("done", template.sid, "delivered", None)
    assert len(fake.requests) == 2 and app.reports == []


async def test_a_later_failure_to_a_customer_is_reported_to_the_admin_once(fake, prefix, build, tmp_path):  # noqa: F811
    app = await build(SHARED_REDIS, prefix, store=tmp_path / "orders.sqlite3", template_sid=TEMPLATE, template_for=ADMIN)
    await app.outbox.enqueue("status:2003", CUSTOMER, "Tu pedido #2003 está listo", "status")
    await app.outbox.enqueue("status:2004", CUSTOMER, "Tu pedido #2004 está listo", "status")
    first, second = await sent_and_recorded(fake, app, 2)
    assert await app.courier.track(first.sid, "sent", None) == "recorded"
    assert await app.courier.track(first.sid, "undelivered", 63003) == "reported"
    assert await app.courier.track(first.sid, "failed", 63003) == "ignored"
    assert await app.courier.track(second.sid, "failed", 63016) == "reported"  # a customer gets no template
    assert [(r.event_id, r.to, r.code) for r in app.reports] == [("status:2003", CUSTOMER, 63003),
                                                                  ("status:2004", CUSTOMER, 63016)]
    assert "no está en WhatsApp (63003)" in app.reports[0].describe()
    assert len(fake.requests) == 2  # nothing sent again


async def test_a_63016_reported_later_without_a_template_waits_for_the_admin_to_write(fake, prefix, build, tmp_path):  # noqa: F811
    app = await build(SHARED_REDIS, prefix, store=tmp_path / "orders.sqlite3", template_for=ADMIN, window_retry=3600)
    await app.outbox.enqueue("order:2005", ADMIN, "🧾 Pedido #2005", "order")
    [first] = await sent_and_recorded(fake, app, 1)
    assert await app.courier.track(first.sid, "failed", 63016) == "window"
    assert await app.queue.pending() == 1 and app.reports == []
    await app.outbox.wake()  # the admin wrote: the window is open
    [_, again] = await sent_and_recorded(fake, app, 2)
    assert again.form["Body"] == "🧾 Pedido #2005"


async def test_a_failure_reported_before_the_send_was_recorded_is_not_lost(fake, prefix, build, tmp_path):  # noqa: F811
    """Twilio may call back before the answer to the send is written down (a slow order store):
    the callback waits for it instead of taking the message for an unknown one."""
    app = await build(SHARED_REDIS, prefix, store=tmp_path / "orders.sqlite3", template_sid=TEMPLATE,
                      template_for=ADMIN, early_wait=5.0)
    queue = app.queue
    finish, track = queue.finish, queue.track
    recording, looked = asyncio.Event(), asyncio.Event()

    async def slow_finish(id, keep, sid=None):
        await recording.wait()
        await finish(id, keep, sid)

    async def counted_track(sid, status, code):
        tracked = await track(sid, status, code)
        looked.set()
        return tracked

    queue.finish, queue.track = slow_finish, counted_track
    await app.outbox.enqueue("order:2006", ADMIN, "🧾 Pedido #2006", "order")
    [text] = await fake.wait_for(lambda seen: len(seen) == 1 and seen[0].answered == 201)
    early = asyncio.create_task(app.courier.track(text.sid, "failed", 63016))
    await looked.wait()  # it looked once and found nothing: the send is not recorded yet
    assert not early.done()
    recording.set()
    assert await early == "template"
    [_, template] = await fake.wait_for(lambda seen: len(seen) == 2 and seen[1].answered == 201)
    assert template.form["ContentSid"] == TEMPLATE


# --- recovering from a Twilio outage ------------------------------------------------------------

class Seconds:
    """The service's clock (epoch seconds), moved by the test."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value


async def test_after_twilio_fails_a_minute_everything_queued_goes_out_within_seconds_and_once(fake, log, tmp_path):
    """Twilio answers 503 for 60 s of the service's clock, then recovers. Two instances share the
    queue (one SQLite file) and run their rounds as the clock moves by half seconds: while Twilio
    fails they back off (the defaults: 1 s doubling to 300 s, full jitter), and once it answers
    every notice is out within 10 s of the service's clock, each exactly once."""
    import random

    clock = Seconds()
    fake.default = status(503)
    policy = RetryPolicy(random=random.Random(9).random)
    stores = [SqliteOrderStore(tmp_path / "orders.sqlite3") for _ in range(2)]
    senders = [TwilioSender("AC" + "1" * 32, "token", "whatsapp:+14155238886", log, timeout=2.0,
                            http_client=lambda: BaseUrlTwilioHttpClient(fake.url)) for _ in range(2)]
    outboxes = [Outbox(store.queue(clock), clock) for store in stores]
    couriers = [Courier(outbox, sender, policy, log) for outbox, sender in zip(outboxes, senders)]
    notices = [f"🧾 Pedido #{3000 + n}" for n in range(12)]
    try:
        for n, text in enumerate(notices):
            await outboxes[n % 2].enqueue(f"order:{3000 + n}", ADMIN if n % 3 else CUSTOMER, text, "order")

        async def rounds_until(moment: float) -> None:
            while clock.value < moment:
                for courier in couriers:
                    await courier.round()
                clock.value += 0.5

        await rounds_until(clock.value + 60)
        during_outage = len(fake.requests)
        assert fake.sent() == [] and await outboxes[0].queue.pending() == len(notices)
        recovered = clock.value
        fake.default = created()
        while await outboxes[0].queue.pending() and clock.value < recovered + 60:
            await rounds_until(clock.value + 0.5)
        out_after = clock.value - recovered
    finally:
        for sender in senders:
            await sender.aclose()
        for store in stores:
            await store.close()
    assert out_after <= 10, out_after
    assert sorted(bodies(fake.sent())) == sorted(notices)  # every notice, once, from either instance
    # Back-off while it failed: without it, 240 rounds would have tried each notice each time.
    assert len(notices) * 3 <= during_outage < len(notices) * 15, during_outage
