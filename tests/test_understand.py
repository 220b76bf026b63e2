from __future__ import annotations

import pytest

from engine.runtime.understand import (
    closest,
    is_one_of,
    normalise,
    parse_number,
    similar,
    words_of,
)


def test_normalise_drops_case_accents_emoji_and_punctuation():
    assert normalise("¡SUADERO!! 🌮  Champiñones, ¿sí?") == "suadero champiñones si"
    assert normalise("👍") == "si"


@pytest.mark.parametrize(("text", "number"), [("2", 2), ("dos", 2), ("Tres", 3), ("3 tacos", 3), ("una", 1), ("veinte", 20)])
def test_numbers_in_digits_and_words(text, number):
    assert parse_number(text) == number


@pytest.mark.parametrize("text", ["hola", "2 o 3", ""])
def test_no_single_number(text):
    assert parse_number(text) is None


@pytest.mark.parametrize(("typed", "word"), [("pastro", "pastor"), ("suadro", "suadero"), ("tacos", "taco"), ("bistek", "bistec")])
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


def test_closest_suggests_names():
    names = {"taco al pastor": "Taco al pastor", "gringa": "Gringa"}
    assert closest("grinja", names) == ["Gringa"]
    assert closest("xyz", names) == []
