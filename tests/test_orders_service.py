"""Orders end to end: signed webhooks into a real server process, orders in its SQLite file,
every notice through the real twilio client to a local fake of Twilio's API.

Each test has its own key prefix on the shared Redis, its own folder (the orders file lives
there) and a clock fixed on Friday 27 November 2026, 14:00 in Mexico City (open).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

import httpx
import pytest
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
    wait_for,
)
from twilio_fake import TwilioFake

from engine.runtime.phones import whatsapp_id

FRIDAY_LUNCH = datetime(2026, 11, 27, 14, 0, tzinfo=ZoneInfo("America/Mexico_City"))
ANA = "whatsapp:+5215512345678"
ADMIN = "whatsapp:+5215587654321"
ADMIN_E164 = "+525587654321"
FRONTEND = "https://pedidos.elrinconcito.example"
API_TOKEN = "api-token-for-tests"
ORDER = ["hola", "3 pastor", "harina", "sin cebolla", "listo", "1", "Ana", "este", "efectivo", "sí"]


@pytest.fixture
def twilio() -> Iterator[TwilioFake]:
    fake = TwilioFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def server(tmp_path: Path, prefix: str, twilio: TwilioFake) -> Iterator[Server]:  # noqa: F811
    clock = tmp_path / "clock-offset"
    set_clock(clock, FRIDAY_LUNCH)
    env = {
        "REDIS_URL": SHARED_REDIS,
        "REDIS_KEY_PREFIX": prefix,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_WHATSAPP_CLIENTES": "whatsapp:+14155238886",
        "TWILIO_API_BASE": twilio.url,
        "ADMIN_PHONE_NUMBER": ADMIN,
        "PUBLIC_URL": PUBLIC_URL,
        "TEST_CLOCK_FILE": str(clock),
        "FRONTEND_URL": FRONTEND,
        "ADMIN_API_TOKEN": API_TOKEN,
    }
    process = Server(tmp_path, env).start()
    yield process
    if process.process is not None:
        process.kill()


def orders_in(folder: Path) -> list[tuple[int, str, int, str]]:
    with sqlite3.connect(folder / "data" / "orders.sqlite3") as db:
        return db.execute("select number, customer, total, status from orders order by number").fetchall()


def sent_to(twilio: TwilioFake, to: str) -> list[str]:
    """What Twilio delivered to ``to`` (sends name Mexican mobiles as WhatsApp does: +521...)."""
    return [r.form["Body"] for r in twilio.sent() if r.form.get("To") == whatsapp_id(to)]


def talk(server: Server, messages: list[str], twice: bool = False, sender: str = ANA) -> list[list[str]]:
    answers = []
    with httpx.Client(timeout=10) as client:
        for text in messages:
            fields = form(text, sender=sender)
            answers.append(replies(post(client, server.base, fields)))
            if twice:  # Twilio retrying a slow webhook: same MessageSid, the same answer
                assert replies(post(client, server.base, fields)) == answers[-1]
    return answers


def test_a_whole_order_is_stored_once_and_the_admin_hears_once(server, twilio, tmp_path):
    answers = talk(server, ORDER)
    assert any("#1001" in reply for reply in answers[-1])
    assert orders_in(tmp_path) == [(1001, "+525512345678", 75, "nuevo")]
    notices = wait_for(lambda: sent_to(twilio, ADMIN), what="the admin's notice")
    assert "Pedido nuevo *#1001*" in notices[0] and "*Total: $75*" in notices[0]
    talk(server, ["#pedidos"], sender=ADMIN)  # the admin writes: whatever still waited goes out now
    talk(server, ["hola"], sender="whatsapp:+5215599990000")
    assert len(sent_to(twilio, ADMIN)) == 1
    assert twilio.requests[0].path.endswith("/Accounts/AC" + "1" * 32 + "/Messages.json")


def test_every_webhook_delivered_twice_still_makes_one_order_and_one_notice(server, twilio, tmp_path):
    talk(server, ORDER, twice=True)
    assert orders_in(tmp_path) == [(1001, "+525512345678", 75, "nuevo")]
    wait_for(lambda: sent_to(twilio, ADMIN), what="the admin's notice")
    talk(server, ["hola"])  # one more round trip: anything late would have been sent by now
    assert len(sent_to(twilio, ADMIN)) == 1


def test_admin_commands_over_whatsapp(server, twilio, tmp_path):
    talk(server, ORDER)
    (listing,) = talk(server, ["#pedidos"], sender=ADMIN)
    assert "#1001" in listing[0] and "Ana" in listing[0]
    (changed,) = talk(server, ["#listo 1001"], sender=ADMIN)
    assert "Pedido #1001: listo" in changed[0]
    told = wait_for(lambda: sent_to(twilio, "whatsapp:+525512345678"), what="the customer's notice")
    assert told == ["Tu pedido *#1001* está listo 🌮 ¡Pasa por él!"]
    assert orders_in(tmp_path)[0][3] == "listo"
    (helped,) = talk(server, ["quiero 3 tacos"], sender=ADMIN)
    assert "#ayuda" in helped[0]  # the admin never starts an order
    assert orders_in(tmp_path)[0][3] == "listo"


def test_a_customer_writing_a_command_is_just_a_customer(server, twilio, tmp_path):
    talk(server, ORDER)
    (answer,) = talk(server, ["#listo 1001"])
    assert not any("Pedido #1001: listo" in reply for reply in answer)
    assert orders_in(tmp_path)[0][3] == "nuevo"


def test_closing_by_admin_command_closes_for_customers(server, twilio):
    talk(server, ["#cerrar"], sender=ADMIN)
    (answer,) = talk(server, ["hola"], sender="whatsapp:+5215511112222")
    assert any("estamos cerrados" in reply for reply in answer)
    talk(server, ["#agotado gringa", "#abrir"], sender=ADMIN)
    (answer,) = talk(server, ["2 gringas"], sender="whatsapp:+5215533334444")
    assert any("agotado" in reply for reply in answer)


def test_api_menu_is_public_and_orders_need_the_token(server, twilio):
    talk(server, ORDER)
    with httpx.Client(base_url=server.base, timeout=10) as client:
        menu = client.get("/api/menu", headers={"Origin": FRONTEND})
        assert menu.status_code == 200 and menu.json()["open"] is True
        assert menu.headers["access-control-allow-origin"] == FRONTEND
        other = client.get("/api/menu", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        preflight = client.options("/api/orders/1001", headers={
            "Origin": FRONTEND, "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "Authorization, Content-Type"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == FRONTEND
        assert "PATCH" in preflight.headers["access-control-allow-methods"]
        # CORS is the API's alone: nothing else answers a browser from another origin.
        health = client.get("/health", headers={"Origin": FRONTEND})
        assert health.status_code == 200 and "access-control-allow-origin" not in health.headers
        assert client.get("/api/orders").status_code == 401
        assert client.get("/api/orders", headers={"Authorization": "Bearer wrong"}).status_code == 401
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        orders = client.get("/api/orders", headers=auth).json()["orders"]
        assert [(o["number"], o["total"], o["status"]) for o in orders] == [(1001, 75, "nuevo")]
        assert client.patch("/api/orders/1001", json={"status": "preparando"}).status_code == 401
        changed = client.patch("/api/orders/1001", json={"status": "preparando"}, headers=auth)
        assert changed.status_code == 200 and changed.json()["status"] == "preparando"
        assert client.patch("/api/orders/1001", json={"status": "volando"}, headers=auth).status_code == 400
        assert client.patch("/api/orders/4242", json={"status": "listo"}, headers=auth).status_code == 404
    told = wait_for(lambda: sent_to(twilio, "whatsapp:+525512345678"), what="the customer's notice")
    assert told == ["👩‍🍳 Ya estamos preparando tu pedido *#1001*."]


def test_api_orders_show_each_order_whole(server, twilio, flows):
    talk(server, ORDER)
    with httpx.Client(base_url=server.base, timeout=10) as client:
        (order,) = client.get("/api/orders", headers={"Authorization": f"Bearer {API_TOKEN}"}).json()["orders"]
    placed = datetime.fromisoformat(order.pop("placed_at"))
    created, updated = (datetime.fromisoformat(order.pop(moment)) for moment in ("created_at", "updated_at"))
    assert placed.utcoffset() == FRIDAY_LUNCH.utcoffset() and placed >= FRIDAY_LUNCH and created == updated
    names = flows.compiled.answer_names
    assert order == {
        "number": 1001,
        "status": "nuevo",
        "customer": "+525512345678",
        "name": "Ana",
        "contact": "+525512345678",
        "lines": [
            {"item_id": "pastor", "name": "Taco al pastor", "quantity": 3,
             "options": {"tortilla": "harina", "preparacion": "sin_cebolla"}, "option_names": ["harina", "sin cebolla"],
             "unit_price": 25, "total": 75, "description": "3 × Taco al pastor (harina, sin cebolla)"},
        ],
        "subtotal": 75,
        "delivery_fee": 0,
        "total": 75,
        "fulfilment": "pickup",
        "fulfilment_name": names["fulfilment"]["pickup"],
        "address": None,
        "location": None,
        "payment": "efectivo",
        "payment_name": names["payment"]["efectivo"],
        "time": placed.strftime("%H:%M"),
        "extra": {},
    }


def test_two_orders_in_one_conversation_are_two_orders(server, twilio, tmp_path):
    talk(server, ORDER)
    answers = talk(server, ["2 horchatas", "listo", "1", "Ana", "este", "efectivo", "sí"])
    assert any("#1002" in reply for reply in answers[-1])
    assert orders_in(tmp_path) == [(1001, "+525512345678", 75, "nuevo"), (1002, "+525512345678", 60, "nuevo")]
    notices = wait_for(lambda: len(sent_to(twilio, ADMIN)) == 2 and sent_to(twilio, ADMIN), what="both notices")
    assert "#1001" in notices[0] + notices[1] and "#1002" in notices[0] + notices[1]


@pytest.fixture
def broken_store_server(tmp_path: Path, prefix: str, twilio: TwilioFake) -> Iterator[Server]:  # noqa: F811
    clock = tmp_path / "clock-offset"
    set_clock(clock, FRIDAY_LUNCH)
    env = {
        "REDIS_URL": SHARED_REDIS, "REDIS_KEY_PREFIX": prefix, "TWILIO_AUTH_TOKEN": TOKEN,
        "PUBLIC_URL": PUBLIC_URL, "TEST_CLOCK_FILE": str(clock), "ADMIN_PHONE_NUMBER": ADMIN,
        "ORDERS_DB_PATH": "/dev/null/orders.sqlite3",  # a folder that can never be made
    }
    process = Server(tmp_path, env).start()
    yield process
    if process.process is not None:
        process.kill()


def test_a_store_that_cannot_be_used_loses_no_order_and_answers_no_500(broken_store_server):
    answers = talk(broken_store_server, ORDER)
    assert answers[-1] == ["¡Recibimos tu pedido! 🎉 En un momento te mando su número por aquí."]
    (listing,) = talk(broken_store_server, ["#pedidos"], sender=ADMIN)  # the admin's list needs the store
    assert listing == ["Perdón, algo falló de nuestro lado 😓 Ya avisamos al equipo. Intenta de nuevo en un momento."]
    assert "⏳ Pedido de +5255****5678 en espera" in broken_store_server.log()  # kept to be saved later
