"""Languages: one record, one instance per language, and what restaurant.yaml may change of it."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from engine.languages import DEFAULT_LANGUAGE, LANGUAGES
from engine.languages.language import (
    ADMIN_COMMANDS,
    COMMAND_INTENTS,
    FIELDS,
    INTENTS,
    OPENING_PLACES,
    OWN_INTENTS,
    TOPICS,
    OpeningPhrases,
)
from engine.loading.build import PHRASEBOOK_LISTS, build_restaurant
from engine.loading.pipeline import inspect, load_flows
from engine.loading.shape import SCHEMAS
from engine.model.order import STATUSES
from engine.model.restaurant import Money
from engine.runtime.cart import format_money
from engine.testing.conversations import Conversation
from tests.conftest import at

ROOT = Path(__file__).resolve().parent.parent
RESTAURANT = {
    "name": "La Esquina", "phone": "55 1234 5678", "country": "MX", "currency": "MXN",
    "delivery": {"fee": 30, "free_from": 300, "minimum": 150}, "estimated_minutes": {"pickup": "20", "delivery": "40"},
}
SCHEMA = json.loads((SCHEMAS / "restaurant.schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("code", sorted(LANGUAGES))
def test_every_language_says_everything_the_engine_needs(code):
    language = LANGUAGES[code]
    assert language.code == code
    assert set(language.statuses) == set(STATUSES)
    assert set(language.admin_commands) == set(ADMIN_COMMANDS) and all(language.admin_commands.values())
    assert (len(language.weekdays), len(language.months)) == (7, 12)
    assert language.clock in ("24h", "12h")
    for phrase in dataclasses.astuple(language.opening):
        assert phrase.format(**{place: "x" for place in OPENING_PLACES})
    for words in (language.yes, language.no, language.done, language.remove, language.separators):
        assert words
    typed = [word for words in language.admin_commands.values() for word in words]
    assert len(typed) == len(set(typed)) and not any(" " in word or "#" in word for word in typed)


def test_the_schema_offers_what_the_engine_knows():
    properties = SCHEMA["properties"]
    assert set(properties["language"]["enum"]) == set(LANGUAGES)
    assert properties["language"]["default"] == DEFAULT_LANGUAGE.code
    assert set(properties["statuses"]["properties"]) == set(STATUSES)
    assert set(properties["admin_commands"]["properties"]) == set(ADMIN_COMMANDS)
    assert set(properties["opening"]["properties"]) == {field.name for field in dataclasses.fields(OpeningPhrases)}


def test_without_a_language_or_words_the_restaurant_speaks_spanish():
    restaurant = build_restaurant(RESTAURANT)
    assert restaurant.language == LANGUAGES["es"]
    assert "listo" in restaurant.words.done and restaurant.words.numbers["tres"] == 3
    assert restaurant.words.admin["pedidos"] == "orders"
    assert restaurant.money == Money()


def test_a_list_replaces_the_language_s_and_a_table_changes_entry_by_entry():
    restaurant = build_restaurant({
        **RESTAURANT,
        "language": "en",
        "words": {"done": ["ciao"], "remove": ["take off", "lose"]},
        "numbers": {"a pair of": 2, "one": 10},
        "opening": {"today": "back at {time}"},
        "statuses": {"listo": "out of the oven"},
        "admin_commands": {"sold_out": ["86"]},
    })
    words, language = restaurant.words, restaurant.language
    assert words.done == {"ciao"}                                 # replaced
    assert "yes" in words.yes                                     # not written: English's own
    assert words.remove == (("take", "off"), ("lose",))           # longest first
    assert (words.numbers["a pair of"], words.numbers["one"], words.numbers["two"]) == (2, 10, 2)
    assert (language.opening.today, language.opening.tomorrow) == ("back at {time}", "we open tomorrow at {time}")
    assert (language.statuses["listo"], language.statuses["nuevo"]) == ("out of the oven", "new")
    assert words.admin["86"] == "sold_out" and "soldout" not in words.admin and words.admin["orders"] == "orders"


@pytest.mark.parametrize(
    ("amount", "money", "written"),
    [
        (1234, Money(), "$1,234"),
        (0, Money(), "$0"),
        (1250, Money(decimals=2), "$12.50"),
        (5, Money(decimals=2), "$0.05"),
        (123456, Money("€", True, ".", ",", 2), "1.234,56 €"),
        (1234567, Money("S/ ", thousands=" "), "S/ 1 234 567"),
        (1234, Money(thousands=""), "$1234"),
        (-399, Money(decimals=2), "-$3.99"),
    ],
)
def test_money_is_written_as_the_restaurant_writes_it(amount, money, written):
    assert format_money(amount, money) == written


@pytest.fixture
def edited(tmp_path):
    """El Rinconcito's flows with restaurant.yaml changed by the test: (old, new) replacements."""
    folder = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", folder)

    def edit(*changes: tuple[str, str]) -> Path:
        path = folder / "restaurant.yaml"
        text = path.read_text(encoding="utf-8")
        for old, new in changes:
            assert old in text, old
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
        return folder

    return edit


def test_what_restaurant_yaml_says_is_what_the_bot_understands_and_writes(edited):
    folder = edited(
        ('  symbol: "$"\n  thousands: ","\n', '  symbol: "MX$"\n  thousands: "."\n'),
        ('remove: ["quitar",', 'remove: ["fuera",'),
        ("numbers: {", 'numbers: {"un chorro": 20, '),
    )
    talk = Conversation(load_flows(folder), "+5215512345678", at("2026-11-27 14:00"))
    talk.send("hola")
    assert "Agregué 1 × Gringa: MX$55" in talk.send("1 gringa").replies[0]
    assert "¿Cuántos tacos de suadero" in talk.send("suadero").replies[0]
    talk.send("un chorro")
    talk.send("maíz")
    assert "Agregué 20 × Taco de suadero (maíz): MX$480" in talk.send("con todo").replies[0]
    assert "Quité Gringa de tu pedido. Llevas MX$480" in talk.send("fuera gringa").replies[0]
    said = "\n".join(talk.send("quitar suadero").replies)   # no longer a word for removing: one more suadero
    assert "¿Cuántos tacos de suadero" in said and "Quité" not in said


def test_a_table_entry_in_restaurant_yaml_changes_that_entry(edited):
    loaded = inspect(edited(("numbers: {", 'opening: {tomorrow: "volvemos mañana, {weekday}, a las {time}"}\nnumbers: {')))
    assert loaded.flows is not None
    assert loaded.flows.restaurant.language.opening.tomorrow == "volvemos mañana, {weekday}, a las {time}"
    assert loaded.flows.restaurant.language.opening.today == "abrimos hoy a las {time}"


def test_an_opening_phrase_may_name_only_what_the_engine_fills_in(edited):
    loaded = inspect(edited(("numbers: {", 'opening:\n  tomorrow: "abrimos mañana a las {hora}"\nnumbers: {')))
    assert [p.path for p in loaded.errors] == [("opening", "tomorrow")]
    assert "{time}" in loaded.errors[0].hint("es")


def test_an_admin_command_word_is_one_word(edited):
    loaded = inspect(edited(("numbers: {", 'admin_commands:\n  orders: ["ver pedidos"]\nnumbers: {')))
    assert [p.path for p in loaded.errors] == [("admin_commands", "orders", 0)]


@pytest.mark.parametrize("code", sorted(LANGUAGES))
def test_every_language_has_phrases_for_every_intent_and_topic(code):
    book = LANGUAGES[code].phrasebook
    assert set(book.intents) == set(INTENTS) and all(book.intents.values())
    assert set(book.questions) == set(TOPICS) and all(book.questions.values())
    assert set(book.fields) == set(FIELDS) and all(book.fields.values())
    for field in dataclasses.fields(book):
        if field.name not in ("intents", "questions", "fields", "ordinals"):
            assert getattr(book, field.name), f"{code}: {field.name} is empty"


def test_the_schema_offers_every_intent_topic_and_phrasebook_list():
    order = json.loads((SCHEMAS / "order.schema.json").read_text(encoding="utf-8"))
    assert order["$defs"]["command"]["properties"]["intent"]["enum"] == list(COMMAND_INTENTS)
    assert order["$defs"]["question"]["properties"]["topic"]["enum"] == list(TOPICS)
    assert set(COMMAND_INTENTS) | set(OWN_INTENTS) == set(INTENTS)
    words = set(SCHEMA["properties"]["words"]["properties"])
    assert {name.rstrip("_") for name in PHRASEBOOK_LISTS} | set(OWN_INTENTS) <= words


def test_restaurant_yaml_replaces_a_phrasebook_list_and_the_own_intents_phrases():
    restaurant = build_restaurant({**RESTAURANT, "words": {"polite": ["porfis"], "more": ["se me olvidó algo"]}})
    book = restaurant.language.phrasebook
    assert book.polite == ("porfis",)
    assert book.intents["more"] == ("se me olvidó algo",)
    assert book.intents["start"] == LANGUAGES["es"].phrasebook.intents["start"]  # not written: Spanish's own
    assert book.again == LANGUAGES["es"].phrasebook.again


def test_a_phrase_restaurant_yaml_adds_is_understood(edited):
    folder = edited(('  polite: ["gracias",', '  polite: ["ahi nos vidrios", "gracias",'))
    talk = Conversation(load_flows(folder), "+5215512345678", at("2026-11-27 14:00"))
    talk.send("1 gringa")
    assert "¿Cómo lo quieres?" in talk.send("listo, ahi nos vidrios").replies[0]
