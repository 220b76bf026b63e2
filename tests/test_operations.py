"""Operations end to end: what happens after a message, with every boundary real or faked at the wire.

The app is the one ``create_app`` builds, run in this test's event loop: its lifespan is entered
directly and requests go through ``httpx.ASGITransport``, with the lifespan's state handed to
each request as a server would. Running in one loop (rather than ``TestClient``'s portal thread
or uvicorn in a thread) keeps every async client in the loop that created it: the Supabase
store's ``httpx.AsyncClient`` is connected here and used by the app, twilio's aiohttp session is
created by the outbox worker, and the background workers (outbox, waiting orders) run
alongside the test while it waits on conditions with deadlines.

- Supabase: ``SupabaseOrderStore.connect`` with respx at PostgREST's HTTP boundary; a small fake
  of the ``orders`` table answers ``/rest/v1/rpc/place_order`` (and ``place_order_and_queue``, which
  also queues the order's notices) as the migration's functions do (idempotent on ``order_key``,
  numbers from 1042), or fails as told (503, a gateway's 502 page, a network error); the
  ``outbox`` functions are answered by ``tests/outbox_rpc.py``.
- Twilio: the real ``TwilioSender`` (twilio's async client) against ``tests/twilio_fake.py``.
- Sessions: memory, or a prefix of the test's own on the shared Redis.
- Without Twilio credentials: a real server process (``servicekit.Server``) and its log.

Webhooks are signed with twilio's ``RequestValidator`` for ``PUBLIC_URL``. The clock starts on
Friday 27 November 2026 at 14:00 in Mexico City (open) and runs in real time; tests move it
forward instead of sleeping.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sqlite3
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from servicekit import (  # noqa: F401  (prefix is a fixture)
    PUBLIC_URL,
    SHARED_REDIS,
    TOKEN,
    Server,
    form,
    post,
    prefix,
    replies,
    set_clock,
    signature,
    wait_for,
)
from outbox_rpc import OutboxRpc
from twilio_fake import TwilioFake

from engine.channels.twilio.rest import BaseUrlTwilioHttpClient, TwilioSender
from engine.http.app import create_app
from engine.http.settings import load_settings
from engine.http.wiring import SERVICES, Given, Services
from engine.orders.sqlite import SqliteOrderStore
from engine.orders.store import OrderStoreError
from engine.orders.supabase import SupabaseOrderStore
from engine.runtime.phones import mask, normalise_whatsapp, whatsapp_id
from engine.service.courier import Courier
from engine.service.errors import ErrorReports
from engine.service.outbox import Outbox
from engine.service.retry import RetryPolicy
from engine.storage.jobqueue import MemoryJobQueue
from engine.storage.store import MemoryStore
from engine.testing.clock import ManualClock

pytestmark = pytest.mark.anyio

FRIDAY_LUNCH = datetime(2026, 11, 27, 14, 0, tzinfo=ZoneInfo("America/Mexico_City"))
ANA = "whatsapp:+5215512345678"
ANA_E164 = "+525512345678"
ADMIN = "whatsapp:+5215587654321"
ADMIN_E164 = "+525587654321"
ACCOUNT_SID = "AC" + "1" * 32
BOT = "whatsapp:+14155238886"
ORDER = ["hola", "3 pastor", "harina", "sin cebolla", "listo", "1", "Ana", "este", "efectivo", "sí"]
"""Three tacos al pastor on flour tortillas, picked up, paid in cash: $75."""

SUPABASE = "https://abcd1234.supabase.co"
SERVICE_KEY = "sb_secret_operations_test_key"
FAST = RetryPolicy(base=0.02, factor=2, cap=0.08, max_attempts=20, random=lambda: 1.0)
"""The outbox and the waiting-orders worker retry within a tenth of a second."""
WAIT = 15.0
"""Deadline for anything the background workers do (the waiting-orders worker polls every 2 s)."""


# --- the clock --------------------------------------------------------------------------------

class RunningClock:
    """Real time from Friday lunch on, plus whatever the test adds with ``advance``: retries fall
    due by themselves, and a test jumps over a throttling window without sleeping."""

    def __init__(self, start: datetime = FRIDAY_LUNCH) -> None:
        self.start, self.began, self.offset = start, time.monotonic(), 0.0

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.began + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


# --- PostgREST at its HTTP boundary -----------------------------------------------------------

class Postgrest:
    """The ``orders`` table behind PostgREST, as respx routes: ``place_order`` inserts once per
    ``order_key`` (a second call returns the stored row) and numbers orders from 1042 (the sequence
    of a project that already took some orders, so a number seen by the customer can only have come
    from here). Failures
    queued in ``failures`` answer the next ``place_order`` calls instead, one each."""

    def __init__(self, router: respx.MockRouter, outbox: OutboxRpc) -> None:
        self.outbox = outbox
        self.rows: dict[str, dict[str, Any]] = {}
        self.failures: deque[httpx.Response | Exception] = deque()
        self.payloads: list[dict[str, Any]] = []
        self.answered: list[int] = []
        """HTTP status of each ``place_order`` call (0: the network failed)."""
        self.place_order = router.post(path__regex=r"/rpc/place_order(_and_queue)?$").mock(side_effect=self._place_order)

    def _place_order(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["apikey"] == SERVICE_KEY
        assert request.headers["authorization"] == f"Bearer {SERVICE_KEY}"
        args = json.loads(request.content)
        payload = args["payload"]
        self.payloads.append(payload)
        if self.failures:
            failure = self.failures.popleft()
            self.answered.append(0 if isinstance(failure, Exception) else failure.status_code)
            if isinstance(failure, Exception):
                raise failure
            return failure
        row = self.rows.get(payload["order_key"])
        if row is None:
            stamp = datetime.now(UTC).isoformat()
            placed = datetime.fromisoformat(payload["placed_at"]).astimezone(UTC).isoformat()
            row = {**payload, "number": 1042 + len(self.rows), "status": "nuevo", "placed_at": placed,
                   "created_at": stamp, "updated_at": stamp}
            self.rows[payload["order_key"]] = row
        if request.url.path.endswith("_and_queue"):  # in the same transaction, in the real function
            self.outbox.add_jobs(args["jobs"], row["number"], args["due"], args["slot"])
        self.answered.append(200)
        return httpx.Response(200, json=row)

    @property
    def saved(self) -> int:
        """``place_order`` calls that stored (or found) an order."""
        return self.answered.count(200)


UNAVAILABLE = httpx.Response(503, json={"code": "PGRST001", "message": "Database client error", "details": None,
                                        "hint": None})
GATEWAY_PAGE = httpx.Response(502, text="<html><body>502 Bad Gateway</body></html>")


# --- fixtures ---------------------------------------------------------------------------------

@pytest.fixture
def fake() -> Iterator[TwilioFake]:
    server = TwilioFake().start()
    yield server
    server.stop()


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> logging.Logger:
    caplog.set_level(logging.INFO, logger="test.operations")
    return logging.getLogger("test.operations")


@pytest.fixture
async def postgrest(tmp_path) -> AsyncIterator[Postgrest]:
    # Every request to Supabase must match a route: a call the store should not make fails the test.
    with respx.mock(base_url=f"{SUPABASE}/rest/v1", assert_all_mocked=True, assert_all_called=False) as router:
        outbox = OutboxRpc(router, tmp_path / "supabase-outbox.sqlite3")
        yield Postgrest(router, outbox)
        outbox.close()


def settings_for(redis_prefix: str | None = None, supabase: bool = True) -> Any:
    environ = {
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_WHATSAPP_CLIENTES": BOT,
        "PUBLIC_URL": PUBLIC_URL,
        "ADMIN_PHONE_NUMBER": ADMIN,
        **({"SUPABASE_URL": SUPABASE, "SUPABASE_KEY": SERVICE_KEY} if supabase else {}),
        **({"REDIS_URL": SHARED_REDIS, "REDIS_KEY_PREFIX": redis_prefix} if redis_prefix else {}),
    }
    return load_settings(environ)


def twilio_sender(fake: TwilioFake, log: logging.Logger) -> TwilioSender:
    return TwilioSender(ACCOUNT_SID, TOKEN, BOT, log, timeout=2.0,
                        http_client=lambda: BaseUrlTwilioHttpClient(fake.url))


class Running:
    """An app built by ``create_app`` with its lifespan entered: post webhooks, look at its services."""

    def __init__(self, client: httpx.AsyncClient, services: Services) -> None:
        self.client, self.services = client, services

    async def post(self, fields: dict[str, str]) -> httpx.Response:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature(fields)}
        return await self.client.post("/webhook", content=urlencode(fields), headers=headers)

    async def say(self, text: str, sender: str = ANA, twice: bool = False) -> list[str]:
        """One WhatsApp message; ``twice``: Twilio delivers it again (same MessageSid), which must
        change nothing and answer the same."""
        fields = form(text, sender=sender)
        answer = replies(await self.post(fields))
        if twice:
            assert replies(await self.post(fields)) == answer
        return answer

    async def talk(self, messages: list[str], sender: str = ANA, twice: bool = False) -> list[list[str]]:
        return [await self.say(text, sender, twice) for text in messages]

    async def settled(self) -> None:
        """Wait until the outbox has nothing left to send (everything queued went out)."""
        await until(self.services.outbox.queue.pending, lambda waiting: waiting == 0, "the outbox to empty")


@asynccontextmanager
async def running(settings: Any, flows: Any, **given: Any) -> AsyncIterator[Running]:
    app = create_app(settings, flows, Given(**given))
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: dict[str, Any], receive: Any, send: Any) -> None:
            scope["state"] = dict(state)  # as a server does: each request gets the lifespan's state
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL, timeout=20) as client:
            yield Running(client, state[SERVICES])


async def until(probe: Callable[[], Awaitable[Any]], ok: Callable[[Any], bool], what: str,
                timeout: float = WAIT) -> Any:
    """Await ``probe()`` until ``ok`` of its value, letting the app's workers run; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} (last: {value!r})")
        await asyncio.sleep(0.02)


def sent_to(fake: TwilioFake, to: str) -> list[str]:
    """Bodies Twilio accepted for ``to`` (sends use the normalised number: +52, not +521)."""
    return [r.form["Body"] for r in fake.sent() if r.form.get("To") == whatsapp_id(to)]


async def delivered(fake: TwilioFake, to: str, count: int) -> list[str]:
    await fake.wait_for(lambda _: len(sent_to(fake, to)) >= count, timeout=WAIT)
    return sent_to(fake, to)


# --- 1. a whole order, stored in Supabase -----------------------------------------------------

@pytest.mark.parametrize("sessions", ["memory", "redis"])
@pytest.mark.parametrize("twice", [False, True], ids=["once", "every-webhook-twice"])
async def test_a_whole_order_through_supabase_is_placed_once_and_told_once(
    flows, fake, postgrest, log, prefix, sessions, twice  # noqa: F811
):
    settings = settings_for(prefix if sessions == "redis" else None)
    store = await SupabaseOrderStore.connect(SUPABASE, SERVICE_KEY)
    async with running(settings, flows, clock=RunningClock(), log=log, sender=twilio_sender(fake, log),
                       orders=store, retry=FAST) as app:
        assert app.services.store.mode == sessions
        unsigned = await app.client.post("/webhook", content=urlencode(form("hola")),
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert unsigned.status_code == 403  # signatures are checked: the signed ones below are valid
        answers = await app.talk(ORDER, twice=twice)
        await delivered(fake, ADMIN, 1)
        await app.settled()

    assert postgrest.place_order.call_count == 1
    (payload,) = postgrest.payloads
    assert (payload["customer"], payload["name"], payload["total"], payload["fulfilment"], payload["payment"]) == (
        ANA_E164, "Ana", 75, "pickup", "efectivo")
    assert [(line["item_id"], line["quantity"]) for line in payload["lines"]] == [("pastor", 3)]
    confirmation = "\n".join(answers[-1])
    assert "Tu pedido es el *#1042*" in confirmation and "Total: $75" in confirmation

    (notice,) = sent_to(fake, ADMIN)
    assert "Pedido nuevo *#1042*" in notice and "*Total: $75*" in notice and "Ana" in notice
    assert sent_to(fake, ANA) == []  # the customer's confirmation was the webhook's own reply
    (request,) = fake.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.auth == (ACCOUNT_SID, TOKEN) and request.form["From"] == BOT


# --- 2. the order store unavailable -----------------------------------------------------------

@pytest.mark.parametrize(
    "sessions, failures",
    [
        ("memory", [UNAVAILABLE, httpx.ConnectError("connection refused")]),
        ("redis", [httpx.ConnectError("connection refused"), GATEWAY_PAGE]),
    ],
    ids=["memory-503-then-network", "redis-network-then-502"],
)
async def test_an_order_the_store_cannot_take_waits_and_is_saved_once_it_answers(
    flows, fake, postgrest, log, caplog, prefix, sessions, failures  # noqa: F811
):
    postgrest.failures.extend(failures)  # the webhook's save, then the first retry, fail
    settings = settings_for(prefix if sessions == "redis" else None)
    store = await SupabaseOrderStore.connect(SUPABASE, SERVICE_KEY)
    async with running(settings, flows, clock=RunningClock(), log=log, sender=twilio_sender(fake, log),
                       orders=store, retry=FAST) as app:
        assert app.services.store.mode == sessions
        answers = await app.talk(ORDER)
        later = flows.compiled.templates.render("order_saved_later", {"restaurant": flows.compiled.restaurant_view})
        assert answers[-1] == [later]  # no number yet, and no error
        assert not any("#" in reply for reply in answers[-1])
        assert postgrest.answered[0] in (0, 503, 502) and sent_to(fake, ADMIN) == []

        confirmation = await delivered(fake, ANA, 1)
        notice = await delivered(fake, ADMIN, 1)
        await app.settled()
        # One more message: the conversation goes on normally, and nothing else is saved or sent.
        assert await app.say("hola")

    assert postgrest.answered == [0 if isinstance(f, Exception) else f.status_code for f in failures] + [200]
    assert postgrest.saved == 1 and len(postgrest.rows) == 1
    assert all(p == postgrest.payloads[0] for p in postgrest.payloads)  # the very same order each time
    assert len(confirmation) == 1 and "Tu pedido es el *#1042*" in confirmation[0] and "$75" in confirmation[0]
    assert len(notice) == 1 and "Pedido nuevo *#1042*" in notice[0] and "*Total: $75*" in notice[0]
    assert sent_to(fake, ANA) == confirmation and sent_to(fake, ADMIN) == notice
    assert "Pedido #1042 guardado (estaba en espera)" in caplog.text
    assert "❗" not in caplog.text  # unavailable is not an error to report: nothing was lost


async def test_a_waiting_order_survives_a_restart_in_redis(flows, fake, postgrest, log, prefix):  # noqa: F811
    postgrest.failures.extend([UNAVAILABLE] * 1000)  # down for as long as the first instance lives
    settings = settings_for(prefix)
    first = await SupabaseOrderStore.connect(SUPABASE, SERVICE_KEY)
    async with running(settings, flows, clock=RunningClock(), log=log, sender=twilio_sender(fake, log),
                       orders=first, retry=FAST) as app:
        assert app.services.store.mode == "redis"
        answers = await app.talk(ORDER)
        assert "En un momento te mando su número" in answers[-1][0]
    assert postgrest.saved == 0 and fake.requests == []

    postgrest.failures.clear()  # Supabase is back; a new instance starts on the same Redis
    clock = RunningClock()
    clock.advance(120)  # past the lease of a save the first instance may have left half done
    second = await SupabaseOrderStore.connect(SUPABASE, SERVICE_KEY)
    async with running(settings, flows, clock=clock, log=log, sender=twilio_sender(fake, log),
                       orders=second, retry=FAST) as app:
        (confirmation,) = await delivered(fake, ANA, 1)
        (notice,) = await delivered(fake, ADMIN, 1)
        await app.settled()
    assert postgrest.saved == 1 and len(postgrest.rows) == 1
    assert "Tu pedido es el *#1042*" in confirmation and "Pedido nuevo *#1042*" in notice


async def test_an_order_the_store_refuses_is_reported_to_the_admin_and_not_dropped(flows, fake, postgrest, log):
    refusal = httpx.Response(400, json={"code": "23514", "details": None, "hint": None,
                                        "message": 'new row for relation "orders" violates check constraint'})
    postgrest.failures.append(refusal)
    store = await SupabaseOrderStore.connect(SUPABASE, SERVICE_KEY)
    async with running(settings_for(), flows, clock=RunningClock(), log=log, sender=twilio_sender(fake, log),
                       orders=store, retry=FAST) as app:
        answers = await app.talk(ORDER)
        assert "En un momento te mando su número" in answers[-1][0]
        told = await delivered(fake, ADMIN, 2)
        (confirmation,) = await delivered(fake, ANA, 1)
        await app.settled()
    report = next(text for text in told if text.startswith("⚠️"))
    assert "pedido no guardado" in report and "23514" in report and mask(ANA_E164) in report
    assert any("Pedido nuevo *#1042*" in text for text in told) and len(told) == 2
    assert "Tu pedido es el *#1042*" in confirmation
    assert postgrest.answered == [400, 200]


# --- 3. error reports, throttled per kind -----------------------------------------------------

class Seconds:
    """A float clock for ``ErrorReports``, the outbox and the memory store; moved by hand."""

    def __init__(self) -> None:
        self.value = FRIDAY_LUNCH.timestamp()

    def __call__(self) -> float:
        return self.value


async def test_the_admin_hears_of_each_kind_of_error_once_per_window_with_a_count_of_the_rest(flows, fake, log):
    now = Seconds()
    sender = twilio_sender(fake, log)
    outbox = Outbox(MemoryJobQueue(now), now)
    courier = Courier(outbox, sender, FAST, log, poll=0.02)
    reports = ErrorReports(flows, outbox, MemoryStore(now), ADMIN_E164, log, now)
    courier.start()
    try:
        async def report(customer: str, what: str, expected: int) -> list[str]:
            await reports.report(customer, what)
            await until(outbox.queue.pending, lambda waiting: waiting == 0, "the outbox to empty")
            told = sent_to(fake, ADMIN)
            assert len(told) == expected, told
            return told

        await report(ANA, "UndefinedError: 'cliente' is undefined", 1)
        await report("whatsapp:+5215511112222", "UndefinedError: 'cliente' is undefined", 1)
        now.value += 300
        await report("whatsapp:+5215533334444", "UndefinedError: otra plantilla", 1)  # same kind: held back
        told = await report(ANA, "envío fallido: No se pudo enviar el mensaje", 2)  # another kind: told at once
        assert "envío fallido" in told[1] and "parecidos" not in told[1]

        now.value += 301  # ten minutes after the first report
        told = await report("whatsapp:+5215555556666", "UndefinedError: 'cliente' is undefined", 3)
        assert told[2].endswith("(+2 parecidos sin avisar)") and mask(ANA) not in told[2]
        await report(ANA, "UndefinedError: 'cliente' is undefined", 3)  # a new window has begun: held back

        now.value += 601
        told = await report(ANA, "UndefinedError: 'cliente' is undefined", 4)
        assert told[3].endswith("(+1 parecidos sin avisar)")
        now.value += 601
        told = await report(ANA, "UndefinedError: 'cliente' is undefined", 5)
        assert "parecidos" not in told[4]
    finally:
        await courier.stop()
        await sender.aclose()

    first = sent_to(fake, ADMIN)[0]
    assert first == f"⚠️ Un cliente ({mask(ANA)}) tuvo un problema: UndefinedError: 'cliente' is undefined"
    assert "5512345678" not in first  # the customer is masked


def broken(flows: Any, **messages: str) -> Any:
    """``flows`` with some messages replaced (say, by templates that fail when rendered)."""
    return dataclasses.replace(flows, messages={**flows.messages, **messages})


async def test_errors_customers_hit_reach_the_admin_throttled_through_the_service(flows, fake, log, tmp_path):
    failing = broken(flows, help="{{ cliente.nombre }}", menu="{{ restaurant.name + 1 }}")
    clock = ManualClock(FRIDAY_LUNCH)
    async with running(settings_for(supabase=False), failing, clock=clock, log=log, sender=twilio_sender(fake, log),
                       orders=SqliteOrderStore(tmp_path / "orders.sqlite3"), retry=FAST) as app:
        customers = [f"whatsapp:+52155{n:08d}" for n in range(11110000, 11110006)]

        async def hit(text: str, customer: str) -> list[str]:
            answer = await app.say(text, sender=customer)
            assert len(answer) == 1 and "algo falló de nuestro lado" in answer[0]
            await app.settled()
            return sent_to(fake, ADMIN)

        assert len(await hit("ayuda", customers[0])) == 1
        assert len(await hit("ayuda", customers[1])) == 1  # the same kind within ten minutes: held back
        assert len(await hit("ayuda", customers[2])) == 1
        told = await hit("menú", customers[3])  # another kind
        assert len(told) == 2 and "TypeError" in told[1]
        clock.advance(minutes=10, seconds=1)
        told = await hit("ayuda", customers[4])
        assert len(told) == 3 and "UndefinedError" in told[2] and told[2].endswith("(+2 parecidos sin avisar)")

    first = sent_to(fake, ADMIN)[0]
    assert first == (f"⚠️ Un cliente ({mask(normalise_whatsapp(customers[0]))}) tuvo un problema: "
                     "UndefinedError: 'cliente' is undefined")


# --- 4. "hablar con alguien" and the admin taking over ----------------------------------------

async def test_asking_for_a_person_tells_the_admin_forwards_and_soltar_gives_the_customer_back(
    flows, fake, log, tmp_path
):
    clock = ManualClock(FRIDAY_LUNCH)
    async with running(settings_for(supabase=False), flows, clock=clock, log=log, sender=twilio_sender(fake, log),
                       orders=SqliteOrderStore(tmp_path / "orders.sqlite3"), retry=FAST) as app:
        assert await app.say("2 pastor maíz con todo")
        handover = await app.say("hablar con alguien")
        assert "una persona del equipo" in "\n".join(handover)
        (notice,) = await delivered(fake, ADMIN, 1)
        assert notice.startswith(f"🙋 {ANA_E164} quiere hablar con alguien.")
        assert "“2 pastor maíz con todo”" in notice and "“hablar con alguien”" in notice

        clock.advance(seconds=20)
        assert await app.say("¿tienen salsa de habanero?", twice=True) == []  # the bot stays quiet
        await delivered(fake, ADMIN, 2)  # (messages due together go out in parallel, in no set order)
        clock.advance(seconds=20)
        assert await app.say("menú") == []
        told = await delivered(fake, ADMIN, 3)
        assert told[1:] == [f"💬 {ANA_E164}: ¿tienen salsa de habanero?", f"💬 {ANA_E164}: menú"]

        released = await app.say("#soltar +52 55 1234 5678", sender=ADMIN)
        assert released == [f"🤖 El bot vuelve a atender a {ANA_E164}."]
        answer = "\n".join(await app.say("carrito"))
        assert "Taco al pastor" in answer  # the bot answers again, the cart still there
        await app.settled()

    assert len(sent_to(fake, ADMIN)) == 3  # the notice and two forwards; nothing for "carrito"
    assert sent_to(fake, ANA) == []  # the customer only ever heard the bot's own replies


async def test_tomar_quiets_the_bot_for_a_customer_until_the_hour_is_over(flows, fake, log, tmp_path):
    clock = ManualClock(FRIDAY_LUNCH)
    luis = "whatsapp:+5215511112222"
    async with running(settings_for(supabase=False), flows, clock=clock, log=log, sender=twilio_sender(fake, log),
                       orders=SqliteOrderStore(tmp_path / "orders.sqlite3"), retry=FAST) as app:
        (taken,) = await app.say("#tomar 55 1111 2222", sender=ADMIN)
        assert taken.startswith("🙋 Atiendes tú a +525511112222 por 60 min")
        assert await app.say("hola, ¿me ayudas con un pedido grande?", sender=luis) == []
        assert await delivered(fake, ADMIN, 1) == ["💬 +525511112222: hola, ¿me ayudas con un pedido grande?"]
        clock.advance(minutes=59)
        assert await app.say("¿sigues ahí?", sender=luis) == []
        await delivered(fake, ADMIN, 2)
        clock.advance(minutes=2)
        assert await app.say("hola", sender=luis)  # the hour is over: the bot answers again
        await app.settled()
    assert len(sent_to(fake, ADMIN)) == 2


async def test_every_message_of_a_quiet_customer_is_forwarded_even_the_same_words_twice(flows, fake, log, tmp_path):
    clock = ManualClock(FRIDAY_LUNCH)
    async with running(settings_for(supabase=False), flows, clock=clock, log=log, sender=twilio_sender(fake, log),
                       orders=SqliteOrderStore(tmp_path / "orders.sqlite3"), retry=FAST) as app:
        await app.say("hablar con alguien")
        await delivered(fake, ADMIN, 1)
        # Two messages (two MessageSids) with the same words in the same second of the clock:
        # each is a message of its own and the admin must see both.
        assert await app.say("?") == []
        assert await app.say("?") == []
        await app.settled()
    assert sent_to(fake, ADMIN)[1:] == [f"💬 {ANA_E164}: ?", f"💬 {ANA_E164}: ?"]


# --- 5. without Twilio credentials: the sends go to the log -----------------------------------

def test_without_twilio_credentials_every_send_is_written_to_the_log_marked(tmp_path):
    clock = tmp_path / "clock-offset"
    set_clock(clock, FRIDAY_LUNCH)
    server = Server(tmp_path, {"ADMIN_PHONE_NUMBER": ADMIN, "TEST_CLOCK_FILE": str(clock)}).start()
    try:
        with httpx.Client(timeout=10) as client:
            answers = [replies(post(client, server.base, form(text), sign=False)) for text in ORDER]
            assert any("*#1001*" in reply for reply in answers[-1])
            marked = "📤 [sin Twilio] mensaje para whatsapp:+52155****4321: 🛎️ Pedido nuevo *#1001*"
            line = wait_for(lambda: next((l for l in server.log().splitlines() if marked in l), None),
                            what="the admin's notice in the log")
            assert "*Total: $75*" in line
            (changed,) = replies(post(client, server.base, form("#listo 1001", sender=ADMIN), sign=False))
            assert "Pedido #1001: listo" in changed
            wait_for(lambda: "📤 [sin Twilio] mensaje para whatsapp:+52155****5678: Tu pedido *#1001* está listo"
                     in server.log(), what="the customer's notice in the log")
    finally:
        server.kill()
    log = server.log()
    assert "solo al log (sin credenciales de Twilio)" in log
    assert log.count("[sin Twilio]") == 2 and "Mensaje «order» enviado" in log
    assert ADMIN_E164 not in log and "5587654321" not in log  # the admin's number is masked
    with sqlite3.connect(tmp_path / "data" / "orders.sqlite3") as db:
        assert db.execute("select number, customer, total, status from orders").fetchall() == [
            (1001, ANA_E164, 75, "listo")]


async def test_a_supabase_project_without_the_outbox_migration_does_not_start(flows, fake, log):
    missing = {"code": "PGRST202", "details": None, "hint": None,
               "message": "Could not find the function public.outbox_pending without parameters in the schema cache"}
    with respx.mock(base_url=f"{SUPABASE}/rest/v1", assert_all_mocked=True) as router:
        router.post(path__regex=r"/rpc/outbox_[a-z]+$").respond(404, json=missing)
        store = await SupabaseOrderStore.connect(SUPABASE, SERVICE_KEY)
        with pytest.raises(OrderStoreError, match="PGRST202.*supabase db push"):
            async with running(settings_for(), flows, clock=RunningClock(), log=log,
                               sender=twilio_sender(fake, log), orders=store, retry=FAST):
                pass  # pragma: no cover  (never reached)


async def test_a_supabase_that_cannot_be_reached_at_start_does_not_stop_the_service(flows, fake, postgrest, log, caplog):
    postgrest.outbox.failing = True
    store = await SupabaseOrderStore.connect(SUPABASE, SERVICE_KEY)
    async with running(settings_for(), flows, clock=RunningClock(), log=log, sender=twilio_sender(fake, log),
                       orders=store, retry=FAST) as app:
        assert await app.say("hola")
    assert "La base de pedidos no responde al arrancar" in caplog.text
