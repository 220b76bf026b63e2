from __future__ import annotations

import logging
from datetime import datetime

import pytest

from engine.model.inbound import Inbound
from engine.orders.sqlite import SqliteOrderStore
from engine.runtime.handle import handle
from engine.service.admin import AdminDesk, parse_command
from engine.service.admin_overrides import StoredOverrides
from engine.service.locks import CustomerLocks
from engine.service.sessions import Sessions
from engine.service.takeover import SessionTakeover
from engine.storage.store import MemoryStore
from engine.testing.conversations import Conversation
from tests.conftest import at

pytestmark = pytest.mark.anyio
CUSTOMER = "+525512345678"
ORDER = ["hola", "3 pastor", "harina", "sin cebolla", "listo", "1", "Ana", "este", "efectivo", "sí"]


class Desk:
    """An admin desk on a real SQLite file and the in-memory store, at a moment the test sets."""

    def __init__(self, flows, tmp_path, now: datetime) -> None:
        self.now = now
        self.store = MemoryStore(lambda: self.now.timestamp())
        self.sessions = Sessions(self.store, flows.restaurant.session_minutes)
        self.orders = SqliteOrderStore(tmp_path / "orders.sqlite3")
        self.sent: list[tuple[str, str, str]] = []
        self.overrides = StoredOverrides(self.store)

        async def notify(event_id: str, to: str, text: str) -> None:
            self.sent.append((event_id, to, text))

        self.desk = AdminDesk(
            flows, self.orders, self.overrides, SessionTakeover(self.sessions, CustomerLocks(self.store), flows.hash),
            notify, lambda: self.now, logging.getLogger("test"),
        )

    async def place_order(self, flows) -> int:
        talk = Conversation(flows, CUSTOMER, self.now)
        outcome = None
        for text in ORDER:
            outcome = talk.send(text)
        stored = await self.orders.save(outcome.order)
        return stored.number

    async def say(self, text: str) -> str:
        (reply,) = await self.desk.answer(text)
        return reply


@pytest.fixture
async def desk(flows, tmp_path):
    desk = Desk(flows, tmp_path, at("2026-11-27 14:00"))
    yield desk
    await desk.orders.close()


def test_parse_command():
    assert parse_command("#Listo 1042").name == "listo"
    assert parse_command("#listo 1042").argument == "1042"
    assert parse_command("hola").name == ""


async def test_orders_of_today_and_one_order(flows, desk):
    assert "No hay pedidos abiertos" in await desk.say("#pedidos")
    number = await desk.place_order(flows)
    listing = await desk.say("#pedidos")
    assert f"#{number}" in listing and "Ana" in listing and "$75" in listing
    detail = await desk.say(f"#pedido {number}")
    assert "3 × Taco al pastor (harina, sin cebolla): $75" in detail
    assert "Recoger en el local" in detail
    assert "No encontré el pedido «999»" in await desk.say("#pedido 999")


async def test_status_change_tells_the_customer(flows, desk):
    number = await desk.place_order(flows)
    reply = await desk.say(f"#listo {number}")
    assert f"Pedido #{number}: listo" in reply
    ((event, to, text),) = desk.sent
    assert event.startswith(f"status:{number}:listo:") and to == CUSTOMER
    assert text == f"Tu pedido *#{number}* está listo 🌮 ¡Pasa por él!"
    assert (await desk.orders.get(number)).status == "listo"
    await desk.say(f"#entregado {number}")
    assert "No hay pedidos abiertos" in await desk.say("#pedidos")
    await desk.say(f"#cancelar {number}")
    assert (await desk.orders.get(number)).status == "cancelado"
    assert "cancelado" in desk.sent[-1][2]
    await desk.say(f"#listo {number}")  # set again later: told again, under a new event
    assert len({event for event, _, _ in desk.sent}) == len(desk.sent) == 4


async def test_closing_and_opening_change_what_customers_get(flows, desk):
    assert "Cerrado hasta 28/11 00:40" in await desk.say("#cerrar")
    overrides = await desk.overrides.load()
    outcome = handle(flows, None, Inbound(CUSTOMER, "hola"), desk.now, overrides)
    assert "estamos cerrados" in outcome.replies[0]
    assert "Abierto" in await desk.say("#abrir")
    overrides = await desk.overrides.load()
    assert "Bienvenido" in handle(flows, None, Inbound(CUSTOMER, "hola"), desk.now, overrides).replies[0]


async def test_sold_out_and_back(flows, desk):
    assert "Gringa agotado" in await desk.say("#agotado gringa")
    assert "gringa" in (await desk.overrides.load()).sold_out
    assert "disponible otra vez" in await desk.say("#disponible gringas")
    assert "gringa" not in (await desk.overrides.load()).sold_out
    assert "No encontré «pozole»" in await desk.say("#agotado pozole")


async def test_taking_over_a_customer_quiets_the_bot_until_released(flows, desk):
    reply = await desk.say("#tomar 55 1234 5678")
    assert "Atiendes tú a +525512345678" in reply
    session = await desk.sessions.load(CUSTOMER)
    quiet = handle(flows, session, Inbound(CUSTOMER, "hola?"), desk.now)
    assert quiet.replies == ()
    await desk.say("#soltar +52 55 1234 5678")
    session = await desk.sessions.load(CUSTOMER)
    assert handle(flows, session, Inbound(CUSTOMER, "hola"), desk.now).replies
    assert "no parece un número válido" in await desk.say("#tomar 123")


async def test_unknown_commands_and_plain_text_get_a_short_help(desk):
    assert "#ayuda" in await desk.say("#pedir 3 tacos")
    assert "#ayuda" in await desk.say("3 pastor")
    assert "#pedidos" in await desk.say("#ayuda")
