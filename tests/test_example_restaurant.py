"""A second restaurant, unlike El Rinconcito, proves the engine belongs to no restaurant.

Nonna Rosa (examples/nonna-rosa) is a pizzeria in San Francisco: English, dollars and cents, another
time zone, other options, no phone step, a note step, the address before the name.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.cli.main import main as cli
from engine.loading.pipeline import inspect, load_flows
from engine.model.inbound import Inbound
from engine.orders.sqlite import SqliteOrderStore
from engine.runtime.flows import Flows
from engine.runtime.handle import handle
from engine.runtime.phones import parse_phone
from engine.service.admin import AdminDesk
from engine.service.admin_overrides import StoredOverrides
from engine.service.locks import CustomerLocks
from engine.service.sessions import Sessions
from engine.service.takeover import SessionTakeover
from engine.storage.store import MemoryStore
from engine.testing.conversations import Conversation, run_file

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "nonna-rosa" / "flows"
PACIFIC = ZoneInfo("America/Los_Angeles")
CUSTOMER = "+14155550123"
ORDER = ["hi", "2 large pepperoni and a coke", "done", "pick up", "Sam", "no", "card", "yes"]
RESTAURANT_NAMES = re.compile(r"(?i:el rinconcito)|\bRinconcito\b|(?i:\bnonna\b)")
"""The restaurants' names as they could appear (the engine itself is the lowercase ``rinconcito`` package)."""


@pytest.fixture(scope="module")
def example() -> Flows:
    return load_flows(EXAMPLE)


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=PACIFIC)


def test_the_example_validates_without_a_warning():
    loaded = inspect(EXAMPLE)
    assert [f"{p.location()} {p.render()}" for p in loaded.problems] == []


def test_every_conversation_test_of_the_example_passes_through_the_runner(example):
    results = [result for path in sorted((EXAMPLE / "tests").glob("*.yaml")) for result in run_file(example, path)]
    failed = {f"{r.file}:{r.line} {r.name}": r.failures for r in results if not r.passed}
    assert failed == {}
    assert len(results) >= 10


def test_the_cli_validates_and_tests_the_example(capsys):
    assert cli(["validate", str(EXAMPLE)]) == 0
    assert cli(["test", "--dir", str(EXAMPLE)]) == 0
    assert re.search(r"^(\d+) passed, 0 failed$", capsys.readouterr().out, re.M)


def test_no_line_of_the_engine_names_a_restaurant():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "engine").rglob("*"))
        if path.suffix in (".py", ".json") and "__pycache__" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if RESTAURANT_NAMES.search(line)
    ]
    assert found == []


def test_the_names_are_really_searched_for():
    """The search above would find a restaurant's name in the engine (and lets the package name be)."""
    assert RESTAURANT_NAMES.search('name = "El Rinconcito"') and RESTAURANT_NAMES.search("Nonna Rosa's hours")
    assert RESTAURANT_NAMES.search("EL RINCONCITO") and RESTAURANT_NAMES.search("examples/nonna-rosa")
    assert not RESTAURANT_NAMES.search("the ``rinconcito`` command, https://rinconcito.example/schemas")


def test_the_two_restaurants_differ_where_a_restaurant_would(flows, example):
    assert (flows.restaurant.language.code, example.restaurant.language.code) == ("es", "en")
    assert (flows.restaurant.country, example.restaurant.country) == ("MX", "US")
    assert (flows.hours.timezone, example.hours.timezone) == ("America/Mexico_City", "America/Los_Angeles")
    assert example.restaurant.money.decimals == 2 and flows.restaurant.money.decimals == 0
    assert set(example.menu.options).isdisjoint(flows.menu.options)
    assert "phone" not in {type(step).__name__.lower().removesuffix("step") for step in example.order.steps.values()}


def test_a_number_without_its_country_code_is_read_in_the_restaurant_s_country(flows, example):
    assert parse_phone("(415) 555-2671", example.restaurant.country) == "+14155552671"
    assert parse_phone("(415) 555-2671", flows.restaurant.country) == "+524155552671"


# ------------------------------------------------------------------ the admin, in English


class Desk:
    def __init__(self, flows: Flows, tmp_path: Path, now: datetime) -> None:
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

    async def place_order(self, flows: Flows) -> int:
        talk = Conversation(flows, CUSTOMER, self.now)
        outcome = None
        for text in ORDER:
            outcome = talk.send(text)
        assert outcome is not None and outcome.order is not None
        return (await self.orders.save(outcome.order)).number

    async def say(self, text: str) -> str:
        (reply,) = await self.desk.answer(text)
        return reply


@pytest.fixture
async def desk(example, tmp_path):
    desk = Desk(example, tmp_path, at("2026-11-27 18:00"))
    yield desk
    await desk.orders.close()


@pytest.mark.anyio
async def test_the_admin_commands_are_english_words(example, desk):
    assert "No open orders today" in await desk.say("#orders")
    number = await desk.place_order(example)
    listing = await desk.say("#Orders")
    assert f"#{number}" in listing and "$45.50" in listing and "· new" in listing
    assert "2 × Pepperoni pizza (large): $43.00" in await desk.say(f"#order {number}")
    assert f"Order #{number}: preparing" in await desk.say(f"#preparing {number}")
    assert desk.sent[-1][2] == f"👩‍🍳 Your order *#{number}* is in the oven."
    assert (await desk.orders.get(number)).status == "preparando"  # stored as always


@pytest.mark.anyio
async def test_a_status_shows_in_the_restaurant_s_own_word(example, desk):
    number = await desk.place_order(example)
    assert f"Order #{number}: out of the oven" in await desk.say(f"#ready {number}")
    assert desk.sent[-1][2] == f"Your order *#{number}* is ready 🍕 Come and get it!"
    assert (await desk.orders.get(number)).status == "listo"


@pytest.mark.anyio
async def test_the_restaurant_s_own_command_words(example, desk):
    assert "Tiramisu is 86'd" in await desk.say("#86 tiramisu")
    assert "tiramisu" in (await desk.overrides.load()).sold_out
    outcome = handle(example, None, Inbound(CUSTOMER, "1 tiramisu"), desk.now, await desk.overrides.load())
    assert "Sorry, the Tiramisu is sold out" in "\n".join(outcome.replies)
    assert "Tiramisu is back on" in await desk.say("#back tiramisu")
    assert "tiramisu" not in (await desk.overrides.load()).sold_out


@pytest.mark.anyio
async def test_spanish_commands_mean_nothing_to_an_english_restaurant(desk):
    for text in ("#pedidos", "#listo 1001", "#agotado tiramisu", "#ayuda"):
        assert "Write *#help*" in await desk.say(text), text
    assert "#86 tiramisu" in await desk.say("#help")


@pytest.mark.anyio
async def test_taking_over_reads_the_number_in_the_restaurant_s_country(example, desk):
    reply = await desk.say("#take (415) 555-0123")
    assert "You're talking to +14155550123 for 30 min" in reply
    session = await desk.sessions.load(CUSTOMER)
    assert handle(example, session, Inbound(CUSTOMER, "hello?"), desk.now).replies == ()
    assert "The bot is back with +14155550123" in await desk.say("#release +1 415 555 0123")
