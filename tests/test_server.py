"""The service end to end: real server processes over HTTP, real Redis, Twilio-signed requests.

Each test has its own key prefix on the shared Redis (or its own ``redis-server``) and its own
clock file: the servers live on Friday 27 November 2026 at 14:00 in Mexico City (open), and a
test moves their time by writing to the file instead of sleeping.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis
from servicekit import (  # noqa: F401  (prefix and redis_server are fixtures)
    PUBLIC_URL,
    SHARED_REDIS,
    TOKEN,
    Server,
    form,
    move_clock,
    post,
    prefix,
    recipients,
    redis_proxy,
    redis_server,
    replies,
    set_clock,
    signature,
    wait_for,
)

from engine.model.session import Session

FRIDAY_LUNCH = datetime(2026, 11, 27, 14, 0, tzinfo=ZoneInfo("America/Mexico_City"))
ANA = "whatsapp:+5215512345678"
ANA_SHORT = "whatsapp:+525512345678"  # the same customer, as WhatsApp sometimes writes her
ANA_KEY = "+525512345678"
WHOLE_TACO = "1 pastor maiz con todo"  # one message that adds one taco, nothing left to ask


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    path = tmp_path / "clock-offset"
    set_clock(path, FRIDAY_LUNCH)
    return path


@pytest.fixture
def env(prefix: str, clock_file: Path) -> dict[str, str]:  # noqa: F811
    return {
        "REDIS_URL": SHARED_REDIS,
        "REDIS_KEY_PREFIX": prefix,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PUBLIC_URL": PUBLIC_URL,
        "TEST_CLOCK_FILE": str(clock_file),
    }


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start a server with the given environment; every server is killed after the test."""
    started: list[Server] = []

    def launch(env: dict[str, str], name: str = "server") -> Server:
        server = Server(tmp_path, env, name)
        started.append(server)
        return server.start()

    yield launch
    for server in started:
        server.kill()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as http:
        yield http


@pytest.fixture
def shared() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(SHARED_REDIS, decode_responses=True)
    yield connection
    connection.close()


def say(client: httpx.Client, server: Server, text: str, sender: str = ANA, **fields: str) -> list[str]:
    response = post(client, server.base, form(text, sender=sender, **fields))
    assert recipients(response) <= {sender}  # replies go to the exact From received
    return replies(response)


def joined(texts: list[str]) -> str:
    return "\n".join(texts)


def stored_session(connection: redis.Redis, prefix: str, customer: str = ANA_KEY) -> Session | None:  # noqa: F811
    raw = connection.get(f"{prefix}s:{customer}")
    return None if raw is None else Session.from_json(raw)


def tacos(session: Session | None) -> int:
    return sum(line.quantity or 0 for line in session.cart) if session else 0


# --- a whole order, signatures -------------------------------------------------------------

def test_a_whole_order_through_signed_webhooks(env, start, client, shared, prefix):  # noqa: F811
    server = start(env)
    assert "Bienvenido" in joined(say(client, server, "hola"))
    assert "Tortilla" in joined(say(client, server, "2 pastor"))
    assert "preparamos" in joined(say(client, server, "harina", sender=ANA_SHORT))  # same customer
    assert "Agregué 2 × Taco al pastor (harina, sin cebolla): $50" in joined(say(client, server, "sin cebolla"))
    assert "Cómo lo quieres" in joined(say(client, server, "listo"))
    assert "A nombre de quién" in joined(say(client, server, "recoger"))
    assert "número" in joined(say(client, server, "Ana López"))
    assert "pagar" in joined(say(client, server, "este"))
    summary = joined(say(client, server, "efectivo"))
    assert "*Total: $50*" in summary and "Ana López" in summary
    confirmation = joined(say(client, server, "sí"))
    assert "Tu pedido es el *#1001*" in confirmation
    assert "\u2063" not in confirmation  # the order number slot was filled

    session = stored_session(shared, prefix)
    assert session is not None and session.cart == () and shared.ttl(f"{prefix}s:{ANA_KEY}") <= 1800
    assert shared.get(f"{prefix}s:+5215512345678") is None  # one session whichever form arrived

    log = server.log()
    assert "✅ Redis conectado" in log and "✅ Redis listo para usar" in log
    assert "✅ Sesión actualizada para whatsapp:+52155****5678" in log
    assert "🧾 Pedido #1001 para whatsapp:+5255****5678" in log
    assert "12345678" not in log and "Ana López" not in log and TOKEN not in log


def test_unsigned_and_wrongly_signed_requests_get_403_before_any_session_is_read(env, start, client, shared, prefix):  # noqa: F811
    server = start(env)
    fields = form("hola")
    assert post(client, server.base, fields, sign=False).status_code == 403

    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    attempts = [
        signature(fields, token="not-the-token"),
        signature(fields, url=f"{server.base}/webhook"),  # what the proxy-side URL would give
        signature({**fields, "Body": "otra cosa"}),  # signed, then tampered with
        "",
    ]
    for wrong in attempts:
        response = client.post(server.base + "/webhook", data=fields, headers={**headers, "X-Twilio-Signature": wrong})
        assert response.status_code == 403
    assert list(shared.scan_iter(match=prefix + "*")) == []  # nothing read, nothing written
    assert post(client, server.base, fields).status_code == 200  # the genuine one goes through
    assert "⛔" in server.log()


def test_health_and_ready(env, start, client):
    server = start(env)
    assert client.get(server.base + "/health").json() == {"status": "ok"}
    ready = client.get(server.base + "/ready").json()
    assert ready["status"] == "ready" and ready["sessions"] == "redis" and ready["flows"]
    assert client.get(server.base + "/webhook").status_code == 405


# --- restarts, instances, concurrency --------------------------------------------------

def test_a_server_killed_mid_order_comes_back_and_the_conversation_goes_on(env, start, client):
    first = start(env)
    say(client, first, "hola")
    assert "Tortilla" in joined(say(client, first, "3 suadero"))
    first.kill()  # SIGKILL: no goodbye, nothing flushed

    second = start(env)
    assert "preparamos" in joined(say(client, second, "maiz"))
    assert "Agregué 3 × Taco de suadero (maíz, sin cilantro): $72" in joined(say(client, second, "sin cilantro"))


def test_two_servers_on_one_redis_alternating_hold_one_conversation(env, start, client):
    servers = [start(env, "a"), start(env, "b")]
    script = [
        ("hola", "Bienvenido"),
        ("2 pastor", "Tortilla"),
        ("maiz", "preparamos"),
        ("con todo", "Llevas $44"),
        ("1 gringa", "Agregué"),
        ("carrito", "Subtotal"),
        ("listo", "Cómo lo quieres"),
        ("recoger", "nombre"),
        ("Beto", "número"),
        ("este", "pagar"),
        ("tarjeta", "¿Lo confirmamos?"),
        ("si", "Tu pedido es el *#1001*"),
    ]
    for turn, (text, expected) in enumerate(script):
        answer = joined(say(client, servers[turn % 2], text))
        assert expected in answer, (turn, text, answer)


def concurrently(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_twenty_messages_at_once_from_one_customer_leave_twenty_tacos(env, start, shared, prefix):  # noqa: F811
    servers = [start({**env, "RATE_LIMIT_PER_CUSTOMER": "30"}, name) for name in ("a", "b")]
    with httpx.Client(timeout=20) as http:
        say(http, servers[0], "hola")

    def send(n: int) -> Callable[[], httpx.Response]:
        def call() -> httpx.Response:
            with httpx.Client(timeout=30) as http:
                return post(http, servers[n % 2].base, form(WHOLE_TACO))
        return call

    answers = concurrently([send(n) for n in range(20)])
    running_totals = sorted(int(re.search(r"Llevas \$(\d+)", joined(replies(a))).group(1)) for a in answers)
    assert running_totals == [22 * n for n in range(1, 21)]  # each message saw the one before
    assert tacos(stored_session(shared, prefix)) == 20


def test_one_message_sid_delivered_twice_at_once_and_a_minute_later_is_handled_once_and_answered_alike(env, start, clock_file, shared, prefix, tmp_path):  # noqa: F811
    servers = [start(env, "a"), start(env, "b")]
    with httpx.Client(timeout=20) as http:
        for text in ("hola", WHOLE_TACO, "listo", "recoger", "Ana", "este", "efectivo"):
            say(http, servers[0], text)
    confirm = form("sí", sid="SM" + "c" * 32)

    def deliver(server: Server) -> Callable[[], httpx.Response]:
        def call() -> httpx.Response:
            with httpx.Client(timeout=30) as http:
                return post(http, server.base, confirm)
        return call

    first, second = concurrently([deliver(servers[0]), deliver(servers[1])])
    texts = [joined(replies(first)), joined(replies(second))]
    assert "Tu pedido es el *#1001*" in texts[0] and texts[1] == texts[0]  # handled once, answered alike

    move_clock(clock_file, 60)  # Twilio retries a minute later
    with httpx.Client(timeout=20) as http:
        assert joined(replies(post(http, servers[1].base, confirm))) == texts[0]
    orders = servers[0].log().count("🧾 Pedido #") + servers[1].log().count("🧾 Pedido #")
    assert orders == 1
    with sqlite3.connect(tmp_path / "data" / "orders.sqlite3") as db:  # both servers share the file
        assert db.execute("select number from orders").fetchall() == [(1001,)]


def test_the_same_add_delivered_twice_adds_one_taco(env, start, client, shared, prefix):  # noqa: F811
    server = start(env)
    say(client, server, "hola")
    add = form(WHOLE_TACO)
    first = replies(post(client, server.base, add))
    assert "Agregué" in joined(first)
    assert replies(post(client, server.base, add)) == first  # the same answer, nothing added
    assert tacos(stored_session(shared, prefix)) == 1
    assert "🔁 Mensaje repetido de whatsapp:+52155****5678" in server.log()


# --- Redis coming and going ----------------------------------------------------------------

def test_redis_absent_at_start_stopped_mid_conversation_and_back(env, start, client, redis_server):  # noqa: F811
    server = start({**env, "REDIS_URL": redis_server.url, "REDIS_PROBE_SECONDS": "0.2"})
    assert "⚠️ Redis no disponible, usando memoria" in server.log()
    assert client.get(server.base + "/ready").json()["sessions"] == "memory"
    assert "Bienvenido" in joined(say(client, server, "hola"))

    redis_server.start()
    wait_for(lambda: client.get(server.base + "/ready").json()["sessions"] == "redis", what="back on Redis")
    assert "Tortilla" in joined(say(client, server, "2 bistec"))  # the memory session came along
    prefix_key = f"{env['REDIS_KEY_PREFIX']}s:{ANA_KEY}"
    assert Session.from_json(redis_server.client().get(prefix_key)).pending  # stored in Redis now

    redis_server.stop()  # mid-conversation
    assert "preparamos" in joined(say(client, server, "harina"))  # still answering, still in context
    assert "Agregué 2 × Taco de bistec (harina): $56" in joined(say(client, server, "con todo"))
    log = server.log()
    assert log.count("⚠️ Se perdió la conexión con Redis") == 1

    redis_server.start()  # empty, as a restarted free Key Value
    wait_for(lambda: client.get(server.base + "/ready").json()["sessions"] == "redis", what="Redis again")
    assert tacos(Session.from_json(redis_server.client().get(prefix_key))) == 2  # sessions in Redis again
    assert "Subtotal: $56" in joined(say(client, server, "carrito"))


def test_a_dead_redis_costs_milliseconds_per_message(env, start, client, redis_server):  # noqa: F811
    redis_server.start()
    server = start({**env, "REDIS_URL": redis_server.url, "REDIS_PROBE_SECONDS": "60"})
    say(client, server, "hola")
    redis_server.stop()
    say(client, server, "menú")  # notices the loss
    took = []
    for text in ("carrito", "ayuda", "menú", "carrito", "ayuda"):
        response = post(client, server.base, form(text))
        took.append(response.elapsed.total_seconds())
        assert replies(response)
    assert max(took) < 0.1, took


# --- limits and odd requests ---------------------------------------------------------------

def test_the_rate_limit_is_shared_by_two_instances(env, start, client):
    servers = [start({**env, "RATE_LIMIT_PER_CUSTOMER": "3"}, name) for name in ("a", "b")]
    answers = [say(client, servers[n % 2], text) for n, text in enumerate(["hola", "menú", "ayuda", "carrito", "menú"])]
    assert all(answer for answer in answers[:3])
    assert len(answers[3]) == 1 and "Espera un momento" in answers[3][0]
    assert answers[4] == []
    assert say(client, servers[1], "hola", sender="whatsapp:+5215587654321")  # others still served


def test_a_customer_whose_every_webhook_comes_twice_is_limited_at_the_configured_rate_only(env, start, client, shared, prefix):  # noqa: F811
    server = start({**env, "RATE_LIMIT_PER_CUSTOMER": "5", "RATE_LIMIT_GLOBAL": "8"})
    beto = "whatsapp:+5215587654321"

    def twice(text: str, sender: str = ANA) -> tuple[list[str], list[str]]:
        fields = form(text, sender=sender)  # Twilio delivers it twice: the same MessageSid
        return replies(post(client, server.base, fields)), replies(post(client, server.base, fields))

    for sender, texts in ((ANA, ["hola", "menú", "ayuda", "carrito", "menú"]), (beto, ["hola", "menú", "ayuda"])):
        for text in texts:  # 5 for Ana (her limit), 8 in all (the bot's): every one answered, twice alike
            first, again = twice(text, sender)
            assert first and "Espera un momento" not in joined(first) and again == first, (sender, text)
    over_hers = twice("carrito")
    assert len(over_hers[0]) == 1 and "Espera un momento" in over_hers[0][0] and over_hers[1] == []
    over_all = twice("carrito", beto)
    assert len(over_all[0]) == 1 and "Espera un momento" in over_all[0][0] and over_all[1] == []
    counted = {key.removeprefix(prefix).rsplit(":", 1)[0]: int(shared.get(key)) for key in shared.scan_iter(f"{prefix}rl:*")
               if not key.startswith(f"{prefix}rl:told:")}
    assert counted == {"rl:c:+525512345678": 6, "rl:c:+525587654321": 4, "rl:all": 10}  # no repeat counted


def test_body_limits_malformed_forms_and_a_ten_thousand_character_message(env, start, client):
    server = start({**env, "MAX_BODY_BYTES": "65536", "LOG_FORMAT": "json"})
    url = server.base + "/webhook"
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}

    too_big = form("a" * 70_000)
    assert post(client, server.base, too_big).status_code == 413

    def chunks():
        for _ in range(100):
            yield b"Body=" + b"a" * 1000 + b"&"
    assert client.post(url, content=chunks(), headers=form_type).status_code == 413  # no Content-Length

    assert client.post(url, content=b"\xff\xfe", headers=form_type).status_code == 400
    assert client.post(url, content=b"From&&Body", headers=form_type).status_code == 400
    assert client.post(url, json={"From": ANA, "Body": "hola"}).status_code == 400
    assert post(client, server.base, {"Body": "sin remitente", "MessageSid": "SM1"}).status_code == 400

    say(client, server, "hola")
    long_text = ("¿Tienen tacos de canasta? " * 400)[:10_000]
    answer = say(client, server, long_text)
    assert answer and all(len(text) <= 1600 for text in answer)
    assert "Agregué" in joined(say(client, server, WHOLE_TACO))  # and the conversation goes on

    for line in server.log().splitlines():
        entry = json.loads(line)  # LOG_FORMAT=json: every line is one JSON object
        assert {"time", "level", "message"} <= entry.keys()
    assert "canasta" not in server.log()


def test_a_session_expires_after_thirty_minutes_and_a_cart_is_offered_back(env, start, client, clock_file, shared, prefix):  # noqa: F811
    server = start(env)
    say(client, server, "hola", sender="whatsapp:+5215511112222")
    assert shared.ttl(f"{prefix}s:+525511112222") <= 1800  # nothing in the cart: 30 minutes
    move_clock(clock_file, 29 * 60)
    assert "Agregué" in joined(say(client, server, WHOLE_TACO, sender="whatsapp:+5215511112222"))
    assert shared.ttl(f"{prefix}s:+525511112222") > 23 * 3600  # a cart is kept a day
    move_clock(clock_file, 31 * 60)
    assert "¿Retomamos tu pedido?" in joined(say(client, server, "hola", sender="whatsapp:+5215511112222"))

    say(client, server, "hola", sender="whatsapp:+5215533334444")
    say(client, server, "2 pastor", sender="whatsapp:+5215533334444")
    move_clock(clock_file, 29 * 60)
    assert "preparamos" in joined(say(client, server, "maiz", sender="whatsapp:+5215533334444"))
    move_clock(clock_file, 31 * 60)
    assert "Bienvenido" in joined(say(client, server, "maiz", sender="whatsapp:+5215533334444"))


def test_sigterm_lets_the_message_in_flight_finish(env, start, client, redis_server, redis_proxy):  # noqa: F811
    server = start({**env, "REDIS_URL": redis_proxy.url})
    say(client, server, "hola")
    redis = redis_server.client()
    lock = f"{env['REDIS_KEY_PREFIX']}lock:{ANA_KEY}"
    redis.set(lock, "held by another instance", px=30_000)  # the next message must wait
    waiting = redis_proxy.watch(lambda request: b'"take"' in request and lock.encode() in request)

    message = form(WHOLE_TACO, sid="SM" + "f" * 32)

    def send() -> httpx.Response:
        with httpx.Client(timeout=30) as http:
            return post(http, server.base, message)

    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(send)
        assert waiting.seen.wait(10), "the message never asked for its turn"
        process = server.process
        process.send_signal(signal.SIGTERM)
        wait_for(lambda: "Shutting down" in server.log(), what="shutdown to begin")
        assert not in_flight.done()
        redis.delete(lock)  # the other instance lets go
        response = in_flight.result(30)
    assert "Agregué 1 × Taco al pastor" in joined(replies(response))
    assert process.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once done
    server.process = None
    assert "Finished server process" in server.log()
    raw = redis.get(f"{env['REDIS_KEY_PREFIX']}s:{ANA_KEY}")
    assert tacos(Session.from_json(raw)) == 1
