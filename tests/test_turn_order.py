"""A turn with buttons goes out in order, whatever the courier's batch and however many couriers:
the real twilio client against the local Twilio fake, the queues the service runs on (the order
store's SQLite outbox with Redis as its spare, Redis with memory beside it, memory alone).

A turn's messages are one chain (``engine.model.jobs.Job.chain``): a message is claimed only
once every message queued before it for that customer was accepted by Twilio (or given up), so a
later one never overtakes an earlier one, not across claim batches (the courier takes 8 at a
time), not after a failure, and not when another instance's courier claims while this one sends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from conftest import at
from servicekit import SHARED_REDIS, prefix  # noqa: F401  (prefix is a fixture)
from twilio_fake import Recorded, TwilioFake, created, status

from engine.channels.twilio.content import ContentMap
from engine.channels.twilio.rest import BaseUrlTwilioHttpClient, TwilioSender
from engine.model.effects import Outcome
from engine.model.inbound import Inbound
from engine.model.jobs import JobQueue
from engine.orders.sqlite import SqliteOrderStore
from engine.runtime.flows import Flows
from engine.runtime.handle import handle
from engine.runtime.phones import whatsapp_id
from engine.service.buttons import ButtonTurns
from engine.service.courier import Courier
from engine.service.durable import DurableQueue
from engine.service.outbox import Outbox
from engine.service.retry import RetryPolicy
from engine.storage.jobqueue import FallbackJobQueue, MemoryJobQueue
from engine.storage.redis_jobqueue import RedisJobQueue
from engine.storage.redis_store import connect

pytestmark = pytest.mark.anyio

ANA = "+525512345678"
LUIS = "+525511112222"
TORTILLA = "HX" + "7" * 32
FAST = RetryPolicy(base=0.02, factor=2, cap=0.08, max_attempts=20, random=lambda: 1.0)
QUEUES = ["sqlite", "redis", "memory"]


@pytest.fixture
def fake() -> AsyncIterator[TwilioFake]:
    server = TwilioFake().start()
    yield server
    server.stop()


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> logging.Logger:
    caplog.set_level(logging.INFO, logger="test.turns")
    return logging.getLogger("test.turns")


@dataclass
class Instance:
    """One server's outbox, its queue and its courier (not started: the test runs its rounds,
    unless it calls ``courier.start()``)."""

    outbox: Outbox
    courier: Courier
    close: Callable[[], Awaitable[None]]


@pytest.fixture
async def instances(request: pytest.FixtureRequest, fake: TwilioFake, log: logging.Logger, prefix: str,  # noqa: F811
                    tmp_path: Path) -> AsyncIterator[Callable[[], Awaitable[Instance]]]:
    """``await instances()``: another instance on the same queue (the same SQLite file, or the
    same Redis; memory is one process's, so there it is the same queue object)."""
    kind: str = request.param
    made: list[Instance] = []
    memory = MemoryJobQueue()

    async def make() -> Instance:
        client = connect(SHARED_REDIS)
        queue: JobQueue
        closing: list[Callable[[], Awaitable[None]]] = [client.aclose]
        if kind == "memory":
            queue = memory
        else:
            spare = FallbackJobQueue(RedisJobQueue(client, prefix), MemoryJobQueue(), log, probe_every=0.05)
            queue = spare
            if kind == "sqlite":
                orders = SqliteOrderStore(tmp_path / "orders.sqlite3")
                queue = DurableQueue(orders.queue(time.time), spare, log, time.time)
                closing.append(orders.close)
        sender = TwilioSender("AC" + "1" * 32, "turns-test-token", "whatsapp:+14155238886", log, timeout=5.0,
                              http_client=lambda: BaseUrlTwilioHttpClient(fake.url))
        outbox = Outbox(queue)
        courier = Courier(outbox, sender, FAST, log, lease=30.0, poll=0.02, probe_every=60.0)

        async def close() -> None:
            await courier.stop()
            await sender.aclose()
            for step in closing:
                await step()

        made.append(Instance(outbox, courier, close))
        return made[-1]

    yield make
    for instance in made:
        await instance.close()


def a_turn(flows: Flows, texts: int, customer: str = ANA, sid: str = "SM" + "1" * 32) -> tuple[Outcome, Inbound]:
    """A turn that says ``texts`` messages and then asks the tortilla, with its buttons."""
    friday = at("2026-11-27 14:00")
    session = handle(flows, None, Inbound(customer, "hola"), friday).session
    inbound = Inbound(customer, "3 pastor", message_id=sid)
    outcome = handle(flows, session, inbound, friday)
    question = outcome.replies[-1]
    assert question.startswith("¿Tortilla de maíz o de harina?")
    said = tuple(f"{customer} {sid[-3:]} texto {n}" for n in range(1, texts + 1))
    return replace(outcome, replies=(*said, question)), inbound


async def queue_turn(instance: Instance, flows: Flows, texts: int, **turn: str) -> list[str]:
    """Queue a turn as the webhook does; what Twilio should get, in order (the question's text last)."""
    buttons = ButtonTurns(flows, instance.outbox, lambda: ContentMap(flows.hash, {"pedir:tortilla": TORTILLA}))
    outcome, inbound = a_turn(flows, texts, **turn)
    assert await buttons.send(outcome, inbound)
    return [*outcome.replies[:-1], f"{TORTILLA} {outcome.replies[-1][:20]}"]


def said(request: Recorded) -> str:
    if request.content_sid:
        return f"{request.content_sid} {request.content_variables['1'][:20]}"
    return request.form["Body"]


def accepted(fake: TwilioFake, to: str = ANA) -> list[str]:
    return [said(r) for r in fake.sent() if r.form["To"] == whatsapp_id(to)]


async def drain(*couriers: Courier, fake: TwilioFake, count: int) -> None:
    """Run the couriers' rounds, one after the other, until Twilio accepted ``count`` messages."""
    deadline = time.monotonic() + 20
    while len(fake.sent()) < count:
        assert time.monotonic() < deadline, [said(r) for r in fake.requests]
        for courier in couriers:
            await courier.round()
        await asyncio.sleep(0.005)  # the retry policy's waits are real time


@pytest.mark.parametrize("instances", QUEUES, indirect=True)
async def test_a_turn_longer_than_a_claim_batch_goes_out_in_order(instances, flows, fake):
    one = await instances()
    want = await queue_turn(one, flows, texts=11)  # 12 messages: more than the batch of 8
    one.courier.start()
    await fake.wait_for(lambda seen: len([r for r in seen if r.answered == 201]) == 12)
    assert accepted(fake) == want


@pytest.mark.parametrize("instances", QUEUES, indirect=True)
async def test_after_a_failure_nothing_later_overtakes_the_message_that_failed(instances, flows, fake):
    fake.answer(created(), created(), status(500), status(503), created(), created(), status(429))
    one = await instances()
    want = await queue_turn(one, flows, texts=9)
    want += await queue_turn(one, flows, texts=3, sid="SM" + "2" * 32)  # the next turn, queued behind
    await drain(one.courier, fake=fake, count=len(want))
    assert accepted(fake) == want
    # Every request Twilio got is for the next message not accepted yet: tried again after a
    # failure, and nothing later tried before it was accepted.
    next_one = 0
    for request in fake.requests:
        assert said(request) == want[next_one], ([said(r) for r in fake.requests], next_one)
        next_one += request.answered == 201
    assert next_one == len(want)


@pytest.mark.parametrize("instances", QUEUES, indirect=True)
async def test_two_couriers_on_one_queue_never_send_a_turn_out_of_order(instances, flows, fake):
    one, two = await instances(), await instances()
    want = await queue_turn(one, flows, texts=11)
    other = await queue_turn(two, flows, texts=2, customer=LUIS, sid="SM" + "3" * 32)
    held = fake.hold_next(lambda form: form.get("Body") == want[1])
    await one.courier.round()  # the first message of each turn
    sending = asyncio.create_task(one.courier.round())  # Ana's second: Twilio takes it, answers later
    deadline = time.monotonic() + 10
    while not held.seen.is_set():
        assert time.monotonic() < deadline, [said(r) for r in fake.requests]
        await asyncio.sleep(0.005)
    # While Twilio has not answered for Ana's second message, the other instance's courier finds
    # nothing of hers to send (Luis's turn is another chain: it goes).
    await two.courier.round()
    assert [said(r) for r in fake.requests if r.form["To"] == whatsapp_id(ANA)] == want[:2]
    held.release()
    await sending
    await drain(two.courier, one.courier, fake=fake, count=len(want) + len(other))
    assert accepted(fake) == want
    assert accepted(fake, LUIS) == other


@pytest.mark.parametrize("instances", QUEUES, indirect=True)
async def test_two_running_couriers_send_several_turns_of_one_customer_in_order(instances, flows, fake):
    one, two = await instances(), await instances()
    want = await queue_turn(one, flows, texts=9)
    want += await queue_turn(two, flows, texts=9, sid="SM" + "4" * 32)
    want += await queue_turn(one, flows, texts=4, sid="SM" + "5" * 32)
    fake.answer(*[created()] * 5, status(500))
    one.courier.start()
    two.courier.start()
    await fake.wait_for(lambda seen: len([r for r in seen if r.answered == 201]) == len(want), timeout=20)
    assert accepted(fake) == want
