"""The second loading stage: schema mistakes become one plain-language problem each.

Each test breaks a shipped flow file in one small way and checks the single problem it gets:
its class, its line (found from the broken text, so the tests follow edits to the flows) and
a fragment of its Spanish text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.loading.problems import FlowProblem
from engine.loading.shape import (
    BadFormat,
    BadKeyName,
    InvalidValue,
    MissingKey,
    NeedsOneOf,
    NotAllowedTogether,
    NotOneOf,
    OnlyOneOf,
    OutOfRange,
    TooLong,
    TooShort,
    UnknownKey,
    WrongType,
    _Translator,
    check_shape,
    validator_for,
)
from engine.loading.source import load_source

FLOWS = Path(__file__).resolve().parent.parent / "flows"

CONVERSATION = """\
# yaml-language-server: $schema=../../schemas/conversation.schema.json
tests:
  - name: pedido para recoger
    at: "2026-11-27 14:00"
    from: "+5215512345678"
    turns:
      - send: hola
        expect: Bienvenido
      - wait: 31m
      - location: {latitude: 19.43, longitude: -99.13, label: Casa}
        expect: ["dirección"]
      - send: sí
        expect_order: {total: 96, lines: [{item: pastor, quantity: 3, options: {tortilla: maiz}}]}
        expect_admin: Pedido nuevo
"""


def shipped(kind: str) -> str:
    return (FLOWS / f"{kind}.yaml").read_text(encoding="utf-8")


def check(tmp_path: Path, kind: str, text: str) -> list[FlowProblem]:
    path = tmp_path / f"{kind}.yaml"
    path.write_text(text, encoding="utf-8")
    return check_shape(load_source(path, f"flows/{kind}.yaml"), kind)


def broken(tmp_path: Path, kind: str, old: str, new: str) -> tuple[FlowProblem, int]:
    """The single problem of ``kind``'s file with ``old`` replaced by ``new``, and ``new``'s line."""
    text = CONVERSATION if kind == "conversation" else shipped(kind)
    assert old in text, old
    changed = text.replace(old, new, 1)
    problems = check(tmp_path, kind, changed)
    assert len(problems) == 1, [f"{p.location()} {p.render()}" for p in problems]
    start = changed.index(new) if new else changed.index(text[text.index(old) + len(old) :][:20])
    return problems[0], changed.count("\n", 0, start) + 1


def test_shipped_flows_have_no_shape_problems(tmp_path: Path) -> None:
    for kind in ("restaurant", "menu", "hours", "messages", "order"):
        assert check(tmp_path, kind, shipped(kind)) == []
    assert check(tmp_path, "conversation", CONVERSATION) == []


def test_price_written_with_text(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "menu", "price: 22\n", "price: 22 pesos\n")
    assert isinstance(problem, WrongType)
    assert (problem.line, problem.column) == (line, 16)
    assert problem.path[-1] == "price"
    spanish = problem.render("es")
    assert "«price» debe ser un número entero, sin texto ni signo de pesos" in spanish
    assert "«22 pesos»" in spanish  # what it says now
    assert "price: 22" in problem.hint("es")
    assert "whole number" in problem.render("en")


def test_price_with_sign_and_thousands(tmp_path: Path) -> None:
    problem, _ = broken(tmp_path, "menu", "price: 22\n", 'price: "$1,500"\n')
    assert isinstance(problem, WrongType)
    assert "price: 1500" in problem.hint("es")


def test_text_expected_gets_quotes(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "restaurant", 'phone: "55 1234 5678"', "phone: 5512345678")
    assert isinstance(problem, WrongType)
    assert problem.line == line
    assert 'phone: "5512345678"' in problem.hint("es")


def test_yes_written_where_a_boolean_goes(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "menu", "available: false", "available: no")
    assert isinstance(problem, WrongType)
    assert problem.line == line
    assert "true o false" in problem.message("es")
    assert "available: false" in problem.hint("es")


def test_unknown_key_with_did_you_mean(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "order", "    max_length: 60", "    max_lenght: 60")
    assert isinstance(problem, UnknownKey)
    assert (problem.line, problem.column) == (line, 5)
    assert problem.path == ("steps", "nombre", "max_lenght")
    assert "«max_lenght» no existe" in problem.message("es")
    assert "¿Quisiste decir «max_length»?" in problem.message("es")
    assert "Did you mean 'max_length'?" in problem.message("en")


def test_unknown_key_in_spanish(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "hours", "  monday: closed", "  lunes: closed")
    assert isinstance(problem, UnknownKey)
    assert problem.line == line
    assert "¿Quisiste decir «monday»?" in problem.message("es")


def test_misspelt_key_is_one_problem_not_also_a_missing_key(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "order", "    next: pedir\n\n  retomar", "    nxt: pedir\n\n  retomar")
    assert isinstance(problem, UnknownKey)
    assert problem.line == line
    assert "¿Quisiste decir «next»?" in problem.message("es")


def test_wrong_key_for_the_step_kind_is_one_problem(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "order", "    kind: text\n    ask: ask_name", "    kind: text\n    say: ask_name")
    assert isinstance(problem, UnknownKey)
    assert problem.line == line + 1
    assert "«say» no existe" in problem.message("es")
    assert "¿Quisiste decir «ask»?" in problem.message("es")


def test_missing_key_points_at_its_block(tmp_path: Path) -> None:
    problem, _ = broken(tmp_path, "order", "    say: welcome\n    next: pedir\n", "    say: welcome\n")
    assert isinstance(problem, MissingKey)
    assert problem.path == ("steps", "bienvenida", "next")
    text = shipped("order")
    assert problem.line == text.count("\n", 0, text.index("  bienvenida:")) + 1
    assert problem.column == 3
    assert "Falta «next» en «bienvenida»" in problem.message("es")
    assert problem.where() == "order.yaml › steps › bienvenida › next"


def test_missing_top_level_key(tmp_path: Path) -> None:
    problem, _ = broken(tmp_path, "restaurant", "currency: MXN\n", "")
    assert isinstance(problem, MissingKey)
    assert problem.path == ("currency",)
    assert "Falta «currency» en «restaurant.yaml»" in problem.message("es")


def test_step_kind_not_one_of_with_did_you_mean(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "order", "    kind: message\n    say: closed\n", "    kind: mesage\n    say: closed\n")
    assert isinstance(problem, NotOneOf)
    assert (problem.line, problem.column) == (line, 11)
    assert "«kind» no puede ser «mesage»" in problem.message("es")
    assert "¿Quisiste decir «message»?" in problem.message("es")
    assert "order_item" in problem.hint("es")


def test_action_not_one_of(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "order", "do: [clear_cart]", "do: [vaciar]")
    assert isinstance(problem, NotOneOf)
    assert problem.line == line
    assert problem.path[-2:] == ("do", 0)


def test_hours_bad_format_has_a_specific_hint(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "hours", 'tuesday: "13:00-23:00"', "tuesday: 1pm a 11pm")
    assert isinstance(problem, BadFormat)
    assert (problem.line, problem.column) == (line, 12)
    assert "«1pm a 11pm»" in problem.message("es")
    assert 'entre comillas, como "13:00-23:00"' in problem.hint("es")


def test_hours_unquoted_range_is_fine(tmp_path: Path) -> None:
    text = shipped("hours").replace('tuesday: "13:00-23:00"', "tuesday: 13:00-23:00")
    assert check(tmp_path, "hours", text) == []
    text = shipped("hours").replace('tuesday: "13:00-23:00"', 'tuesday: "13:00–23:00"')  # en dash
    assert check(tmp_path, "hours", text) == []


def test_bad_step_target(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "order", "    next: end\n", "    next: Fin\n")
    assert isinstance(problem, BadFormat)
    assert problem.line == line
    assert "id de un paso" in problem.hint("es")


def test_bad_key_name(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "hours", '"2026-12-25": closed', "25/12/2026: closed")
    assert isinstance(problem, BadKeyName)
    assert (problem.line, problem.column) == (line, 3)
    assert "«25/12/2026»" in problem.message("es")
    assert "año-mes-día" in problem.hint("es")


def test_message_key_name(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "messages", "ask_name: |-", "Ask name: |-")
    assert isinstance(problem, BadKeyName)
    assert (problem.line, problem.column) == (line, 1)


def test_empty_list_of_words(tmp_path: Path) -> None:
    text = shipped("restaurant")
    start = text.index("  done: [")
    changed = text[:start] + "  done: []\n"
    problems = check(tmp_path, "restaurant", changed)
    assert len(problems) == 1
    problem = problems[0]
    assert isinstance(problem, TooShort)
    assert problem.line == changed.count("\n", 0, start) + 1
    assert "«done» está vacío" in problem.message("es")


def test_empty_message(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "messages", "not_understood: |-\n  Perdón, no te entendí 🙏", 'not_understood: ""')
    assert isinstance(problem, TooShort)
    assert problem.line == line
    assert "«not_understood» está vacío" in problem.message("es")


def test_out_of_range(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "restaurant", "session_minutes: 30", "session_minutes: 3000")
    assert isinstance(problem, OutOfRange)
    assert problem.line == line
    assert "«session_minutes» debe ser como máximo 1440, y es 3000" in problem.message("es")


def test_negative_price(tmp_path: Path) -> None:
    problem, _ = broken(tmp_path, "menu", "price: 22\n", "price: -22\n")
    assert isinstance(problem, OutOfRange)
    assert "al menos 0" in problem.message("es")


def test_command_needs_say_or_go(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "order", '"ver menú"]\n    say: menu\n', '"ver menú"]\n')
    assert isinstance(problem, NeedsOneOf)
    assert problem.line == line
    assert "«say» o «go»" in problem.message("es")


def test_command_with_both_say_and_go(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "order", "    say: menu\n", "    say: menu\n    go: humano\n")
    assert isinstance(problem, OnlyOneOf)
    assert (problem.line, problem.column) == (line + 1, 5)
    assert "«go» no puede ir junto con «say»" in problem.message("es")


def test_target_of_the_wrong_type_is_one_problem(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "order", "    next: end\n", "    next: 5\n")
    assert isinstance(problem, WrongType)
    assert problem.line == line
    assert "un texto o una lista" in problem.message("es")


def test_mistake_inside_a_branch_list_is_one_problem(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "order", "      - go: bienvenida\n", "      - goo: bienvenida\n")
    assert isinstance(problem, UnknownKey)
    assert problem.line == line
    assert problem.path == ("steps", "inicio", "next", 2, "goo")
    assert "¿Quisiste decir «go»?" in problem.message("es")


def test_list_written_as_text(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "order", "do: [clear_cart]", "do: clear_cart")
    assert isinstance(problem, WrongType)
    assert problem.line == line
    assert 'do: ["clear_cart"]' in problem.hint("es")


def test_wait_turn_with_expectations(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "conversation", "      - wait: 31m\n", "      - wait: 31m\n        expect: hola\n")
    assert isinstance(problem, NotAllowedTogether)
    assert (problem.line, problem.column) == (line + 1, 9)
    assert "«expect» no puede ir junto con «wait»" in problem.message("es")
    assert "turno siguiente" in problem.hint("es")


def test_wait_format(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "conversation", "wait: 31m", "wait: 31 min")
    assert isinstance(problem, BadFormat)
    assert problem.line == line
    assert "31m, 2h, 1h30m o 45s" in problem.hint("es")


def test_turn_without_action(tmp_path: Path) -> None:
    problem, line = broken(tmp_path, "conversation", "      - send: hola\n        expect: Bienvenido\n", "      - expect: Bienvenido\n")
    assert isinstance(problem, NeedsOneOf)
    assert problem.line == line
    assert "«send», «location» o «wait»" in problem.message("es")


def test_all_problems_of_a_file_in_one_run(tmp_path: Path) -> None:
    text = shipped("menu").replace("price: 22\n", "price: 22 pesos\n").replace("available: false", "available: no")
    text = text.replace("        aliases: [\"bistek\"", "        alias: [\"bistek\"")
    problems = check(tmp_path, "menu", text)
    assert [type(p) for p in problems] == [WrongType, UnknownKey, WrongType]
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_fallback_problem_for_other_keywords() -> None:
    translator = _Translator("flows/x.yaml", {"multipleOf": 5})
    error = next(validator_for("menu").__class__({"multipleOf": 5}).iter_errors(7))
    (problem,) = translator.translate(error)
    assert isinstance(problem, InvalidValue)
    assert "no es válido" in problem.message("es")


def test_too_long_text() -> None:
    schema = {"type": "string", "maxLength": 3, "description": "corto"}
    error = next(validator_for("menu").__class__(schema).iter_errors("abcdef"))
    (problem,) = _Translator("flows/x.yaml", schema).translate(error)
    assert isinstance(problem, TooLong)
    assert "tiene 6 y el máximo es 3" in problem.message("es")


@pytest.mark.parametrize("kind", ["restaurant", "menu", "hours", "messages", "order"])
def test_wrong_top_level_type(tmp_path: Path, kind: str) -> None:
    problems = check(tmp_path, kind, "- uno\n- dos\n")
    assert [type(p) for p in problems] == [WrongType]
    assert problems[0].line == 1
    assert "bloque de claves" in problems[0].message("es")
