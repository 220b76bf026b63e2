from __future__ import annotations

import pytest

from engine.languages.en import EN
from engine.languages.es import ES
from engine.loading.build import build_words
from engine.runtime.understand import (
    closest,
    is_bare_number,
    is_one_of,
    key_tokens,
    normalise,
    parse_number,
    similar,
    words_of,
)

SPANISH = build_words(ES)
ENGLISH = build_words(EN)


def test_normalise_drops_case_accents_emoji_and_punctuation():
    assert normalise("¡SUADERO!! 🌮  Champiñones, ¿sí?") == "suadero champiñones si"


def test_yes_and_no_emoji_stay_words_of_their_own_in_every_language():
    assert normalise("👍") == "👍"
    assert normalise("ok👍🏽!") == "ok 👍"
    assert normalise("❌❌") == "❌ ❌"
    for words in (SPANISH, ENGLISH):
        assert is_one_of("👍", words.yes) and is_one_of("✅", words.yes) and is_one_of("👎", words.no)


@pytest.mark.parametrize(("text", "number"), [("2", 2), ("dos", 2), ("Tres", 3), ("3 tacos", 3), ("una", 1), ("veinte", 20),
                                              ("media docena", 6)])
def test_numbers_in_digits_and_spanish_words(text, number):
    assert parse_number(text, SPANISH.numbers) == number


@pytest.mark.parametrize(("text", "number"), [("2", 2), ("two", 2), ("Three", 3), ("a dozen", 12), ("half a dozen", 6),
                                              ("3 pizzas", 3)])
def test_numbers_in_english_words(text, number):
    assert parse_number(text, ENGLISH.numbers) == number


def test_a_language_reads_only_its_own_number_words():
    assert parse_number("dos", ENGLISH.numbers) is None
    assert parse_number("two", SPANISH.numbers) is None
    assert is_bare_number("tres", SPANISH.numbers) and not is_bare_number("tres", ENGLISH.numbers)


@pytest.mark.parametrize("text", ["hola", "2 o 3", ""])
def test_no_single_number(text):
    assert parse_number(text, SPANISH.numbers) is None


@pytest.mark.parametrize(("typed", "word"), [("pastro", "pastor"), ("suadro", "suadero"), ("tacos", "taco"), ("bistek", "bistec"),
                                             ("margerita", "margherita"), ("pizzas", "pizza")])
def test_small_typos_and_plurals_match(typed, word):
    assert similar(typed, word)


@pytest.mark.parametrize(("a", "b"), [("flan", "fanta"), ("si", "no"), ("12", "13")])
def test_different_words_do_not_match(a, b):
    assert not similar(a, b)


def test_yes_variants():
    yes = words_of(["sí", "va", "ok", "sale", "👍"])
    for typed in ("Sí", "si", "VA", "ok", "👍", "Sale!"):
        assert is_one_of(typed, yes), typed
    assert not is_one_of("nel", yes)


def test_english_yes_and_done():
    assert is_one_of("Yes!", ENGLISH.yes) and is_one_of("yep", ENGLISH.yes)
    assert is_one_of("That's all", ENGLISH.done) and is_one_of("thats all", ENGLISH.done)
    assert not is_one_of("sí", ENGLISH.yes)


def test_key_tokens_leave_out_what_the_customer_need_not_type():
    assert key_tokens("Agua de horchata (500 ml)", SPANISH.filler) == ["agua", "horchata"]
    assert key_tokens("Pizza with pepperoni", ENGLISH.filler | {"pizza"}) == ["pepperoni"]
    assert key_tokens("The Pizza", ENGLISH.filler | {"pizza"}) == ["the", "pizza"]  # never nothing at all


def test_closest_suggests_names():
    names = {"taco al pastor": "Taco al pastor", "gringa": "Gringa"}
    assert closest("grinja", names) == ["Gringa"]
    assert closest("xyz", names) == []
