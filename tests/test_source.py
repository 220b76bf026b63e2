"""The first loading stage: plain data with positions, and one clear problem per YAML mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.loading import source
from engine.loading.problems import FlowErrors, FlowProblem
from engine.loading.source import (
    AnchorOrAlias,
    ComplexKey,
    DuplicateKey,
    EmptyFile,
    NotUtf8,
    Source,
    TabIndent,
    UnsupportedTag,
    YamlSyntax,
    load_source,
)

FLOWS = Path(__file__).resolve().parent.parent / "flows"


def load(tmp_path: Path, text: str | bytes) -> Source:
    path = tmp_path / "order.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return load_source(path, "flows/order.yaml")


def problems_of(tmp_path: Path, text: str | bytes) -> list[FlowProblem]:
    with pytest.raises(FlowErrors) as caught:
        load(tmp_path, text)
    return caught.value.problems


def only_problem(tmp_path: Path, text: str | bytes) -> FlowProblem:
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1, [p.render() for p in problems]
    return problems[0]


# ---------------------------------------------------------------- data and positions


NESTED = """\
# comment
steps:
  pedir:
    kind: order_item
    next:
      - if: not open
        go: cerrado
      - go: pedir
commands:
  - words: ["menú", "carta"]
    say: menu
"""


def test_values_and_positions_of_nested_keys_and_list_items(tmp_path: Path) -> None:
    source = load(tmp_path, NESTED)
    assert source.data["steps"]["pedir"]["next"][1] == {"go": "pedir"}
    assert source.locate(("steps", "pedir", "kind")) == (4, 11)
    assert source.locate(("steps", "pedir", "kind"), key=True) == (4, 5)
    assert source.locate(("steps", "pedir", "next", 0, "go")) == (7, 13)
    assert source.locate(("steps", "pedir", "next", 1)) == (8, 9)
    assert source.locate(("commands", 0, "words", 1)) == (10, 21)
    assert source.locate(("commands", 0, "say"), key=True) == (11, 5)


def test_locate_falls_back_to_the_nearest_ancestor(tmp_path: Path) -> None:
    source = load(tmp_path, NESTED)
    assert source.locate(("steps", "pedir", "done"), key=True) == (3, 3)
    assert source.locate(("steps", "nope", "next")) == source.locate(("steps",))
    assert source.locate(("commands", 0, "go"), key=True) == (10, 5)


def test_locate_problem_uses_key_or_value_position(tmp_path: Path) -> None:
    source = load(tmp_path, NESTED)

    class AtKey(FlowProblem):
        points_at_key = True

    at_value = source.locate_problem(FlowProblem(file=source.file, path=("steps", "pedir", "kind")))
    at_key = source.locate_problem(AtKey(file=source.file, path=("steps", "pedir", "kind")))
    assert (at_value.line, at_value.column) == (4, 11)
    assert (at_key.line, at_key.column) == (4, 5)
    assert at_key.location() == "flows/order.yaml:4:5"


def test_an_empty_value_is_located_at_its_key(tmp_path: Path) -> None:
    source = load(tmp_path, "a:\nb: 2\n")
    assert source.data == {"a": None, "b": 2}
    assert source.locate(("a",)) == (1, 1)


@pytest.mark.parametrize("word", ["13:00", "no", "yes", "on", "off", "No", "Yes", "y", "n", "2026-12-25", "1:30:00"])
def test_yaml_1_1_traps_stay_text(tmp_path: Path, word: str) -> None:
    source = load(tmp_path, f"value: {word}\nkey_{word.replace(':', '_')}: 1\nlist: [{word}]\n")
    assert source.data["value"] == word
    assert source.data["list"] == [word]


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("22", 22),
        ("-3", -3),
        ("19.4326", 19.4326),
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("~", None),
        ("null", None),
        ("", None),
        ("010", "010"),
        ("0x1F", "0x1F"),
        ("1_000", "1_000"),
        ("1e3", "1e3"),
        (".inf", ".inf"),
        ('"22"', "22"),
        ("'true'", "true"),
        ("!!str 13:00", "13:00"),
    ],
)
def test_scalars_resolve_to_plain_python(tmp_path: Path, written: str, value: object) -> None:
    assert load(tmp_path, f"value: {written}\n").data == {"value": value}


def test_unquoted_yes_and_no_keys_stay_text(tmp_path: Path) -> None:
    source = load(tmp_path, "yes: pedir\nno: back\n2026-12-25: closed\n")
    assert source.data == {"yes": "pedir", "no": "back", "2026-12-25": "closed"}


def test_shipped_flows_load(tmp_path: Path) -> None:
    hours = load_source(FLOWS / "hours.yaml", "flows/hours.yaml")
    assert hours.data["weekly"]["tuesday"] == "13:00-23:00"
    assert hours.data["special"]["2026-12-25"] == "closed"
    restaurant = load_source(FLOWS / "restaurant.yaml", "flows/restaurant.yaml")
    assert "no" in restaurant.data["words"]["no"]
    assert restaurant.data["estimated_minutes"]["pickup"] == "25–35"


# ---------------------------------------------------------------- problems


def test_tabs_are_reported_on_every_line_before_parsing(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "steps:\n\tpedir:\n  \t kind: text\n  ok: 1 \t# tab after text is fine\n")
    assert [type(p) for p in problems] == [TabIndent, TabIndent]
    assert [(p.line, p.column) for p in problems] == [(2, 1), (3, 3)]
    assert "tabuladores" in problems[0].message("es")
    assert "usa espacios" in problems[0].hint("es").lower()


def test_duplicate_key_points_at_the_second_and_names_the_first(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, "steps:\n  pedir:\n    kind: text\n    ask: a\n    kind: choice\n")
    assert isinstance(problem, DuplicateKey)
    assert (problem.line, problem.column) == (5, 5)
    assert problem.path == ("steps", "pedir", "kind")
    assert "«kind» aparece dos veces" in problem.message("es")
    assert "línea 3" in problem.message("es")


def test_duplicate_keys_in_two_blocks_are_both_reported(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "a: 1\na: 2\nb:\n  c: 1\n  c: 1\n")
    assert [(type(p), p.line) for p in problems] == [(DuplicateKey, 2), (DuplicateKey, 5)]


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("a: 1\nb 2\nc: 3\n", 2, 1, "falta «:»"),
        ("steps:\n  pedir:\n    kind message\n    next: x\n", 3, 5, "falta «:»"),
        ("a:\n  b: 1\n c: 2\n", 3, 2, "sangría"),
        ("a:\n  b: 1\n    c: 2\n", 3, 6, "sangría"),
        ("a: Horario: de 1 a 11\n", 1, 11, "entre comillas"),
        ("a: Hola amigo\n  que tal, horario: de 1 a 11\n", 2, 19, "entre comillas"),
        ('a: "hola\nb: 2\n', 1, 4, "comillas"),
        ("a: [1, 2\nb: 3\n", 1, 4, "«[»"),
        ("a: @promo\n", 1, 4, "«@»"),
        ("a: 1\n---\nb: 2\n", 2, 1, "«---»"),
        ("a: 1\n- b\n", 2, 1, "lista"),
    ],
)
def test_syntax_errors_say_where_and_what_in_plain_words(
    tmp_path: Path, text: str, line: int, column: int, fragment: str
) -> None:
    problem = only_problem(tmp_path, text)
    assert isinstance(problem, YamlSyntax)
    assert (problem.line, problem.column) == (line, column)
    assert fragment in problem.render("es")
    assert problem.render("en")


def test_empty_file(tmp_path: Path) -> None:
    for text in ("", "\n\n", "# only a comment\n"):
        problem = only_problem(tmp_path, text)
        assert isinstance(problem, EmptyFile)
        assert "el archivo está vacío" in problem.message("es").lower()
        assert (problem.line, problem.column) == (1, 1)


def test_not_utf8(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, b"name: ok\nmenu: caf\xe9\n")
    assert isinstance(problem, NotUtf8)
    assert (problem.line, problem.column) == (2, 10)
    assert "UTF-8" in problem.render("es")


def test_byte_order_mark_is_harmless(tmp_path: Path) -> None:
    assert load(tmp_path, "\ufeffa: 1\n".encode()).data == {"a": 1}


def test_control_character_is_a_syntax_problem(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, "a: ok\nb: x\x01\n")
    assert isinstance(problem, YamlSyntax)
    assert problem.line == 2


def test_anchors_and_aliases_are_rejected(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "a: &base 1\nb: *base\n")
    assert [(type(p), p.line) for p in problems] == [(AnchorOrAlias, 1), (AnchorOrAlias, 2)]


def test_recursive_alias_does_not_loop(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "a: &x [1, *x]\n")
    assert all(isinstance(p, AnchorOrAlias) for p in problems)


def test_other_tags_are_rejected(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, "a: ok\nb: !!timestamp 2026-12-25\n")
    assert isinstance(problem, UnsupportedTag)
    assert problem.line == 2
    assert "!!timestamp" in problem.message("es")


def test_unquoted_template_braces_give_a_clear_problem(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, "welcome: {{ customer.name }}\n")
    assert isinstance(problem, ComplexKey)
    assert "entre comillas" in problem.hint("es")
    assert "{{ nombre }}" in problem.hint("es")


# ---------------------------------------------------------------- libyaml's parser reads as PyYAML's

ROOT = FLOWS.parent
SHIPPED_YAML = sorted(
    path for pattern in ("flows/**/*.yaml", "examples/**/*.yaml", "tests/corpus/*.yaml") for path in ROOT.glob(pattern)
)


def outcome(path: Path) -> object:
    """All that reading a file gives: data and positions, or every problem with its place and words."""
    try:
        read = load_source(path, "flows/order.yaml")
    except FlowErrors as errors:
        return [(type(p).__name__, p.line, p.column, p.path, p.render("es")) for p in errors.problems]
    return read.data, read.positions, read.key_positions


def both_ways(monkeypatch: pytest.MonkeyPatch, path: Path) -> tuple[object, object]:
    """The outcome with libyaml's parser, then with PyYAML's pure-Python one alone."""
    with_libyaml = outcome(path)
    monkeypatch.setattr(source, "_LIBYAML_PARSER", None)
    pure = outcome(path)
    monkeypatch.undo()
    return with_libyaml, pure


def test_pyyaml_here_has_libyaml() -> None:
    # Otherwise the comparisons below would compare the pure-Python parser with itself.
    assert yaml.__with_libyaml__ and source._LIBYAML_PARSER is not None


@pytest.mark.parametrize("path", SHIPPED_YAML, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_shipped_file_reads_the_same_with_libyaml(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    with_libyaml, pure = both_ways(monkeypatch, path)
    assert with_libyaml == pure


@pytest.mark.parametrize(
    "text",
    [
        NESTED,
        "a:\nb: 2\n",  # an empty value: located at its key
        "value: 13:00\nlist: [no, on, 'yes', \"off\"]\nkeys: {yes: 1, 2026-12-25: closed}\n",
        "a: |\n  one\n  two\n\nb: >-\n  folded\n  text\nc: |+\n  kept\n\n",
        "a: \"esc\\u00e9 \\\"q\\\"\"\nb: 'it''s'\nc: plain text\n  that goes on\n",
        "ñandú: café ☕\nlínea: «texto»\n",
        "a: 1\r\nb:\r\n  - x\r\n  - y\r\n",
        "- a\n- - b\n  - c\n- {k: v}\n",
        "a: ok  # a comment\n# another\nb: 'x # not a comment'\n",
        # Where libyaml reads on and PyYAML stops: the pure-Python parser's account is the one given.
        "a: b\tc\n",
        "links: [http://example.test/?a=1]\n",
        "a: !!str 13:00\nb: [!x, y]\n",
        "a: |# comment\n  text\n",
        ">-#\n",
        "a: &x 1\nb: *x\nc: &y [1, *y]\n",
        "a: x\x85y\n",
        "a: ok\nb: x\x01\n",
        "a: [1, 2\nb: 3\n",
        "a: Horario: de 1 a 11\n",
    ],
)
def test_tricky_texts_read_the_same_with_libyaml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str) -> None:
    path = tmp_path / "order.yaml"
    path.write_text(text, encoding="utf-8", newline="")
    with_libyaml, pure = both_ways(monkeypatch, path)
    assert with_libyaml == pure


EDITS = [" ", ":", ": ", "- ", "#", " #", "'", '"', "\n", "  ", ",", "[", "]", "{", "}", "!", "?", "? ", "|", ">",
         "%", "@", "`", "\\", "\u00a0", "\u2028", "\r", "...", "---", "&", "*", "~", "é", "😀", "|#", ">-", "\n- ", ":x"]
"""What an editor's slip may put into a file (and what PyYAML and libyaml are known to read otherwise)."""


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(SHIPPED_YAML), st.integers(0, 400), st.integers(1, 25),
    st.lists(st.tuples(st.floats(0, 1), st.sampled_from(EDITS), st.integers(0, 2)), min_size=1, max_size=3),
)
def test_edited_files_read_the_same_with_libyaml(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shipped: Path, first: int, count: int,
    edits: list[tuple[float, str, int]],
) -> None:
    """A few lines of a shipped file, with slips put in: valid or not, both parsers agree."""
    lines = shipped.read_text(encoding="utf-8").split("\n")
    text = "\n".join(lines[first % len(lines):][:count])
    for where, edit, removed in edits:
        at = int(where * len(text))
        text = text[:at] + edit + text[at + removed:]
    path = tmp_path / "order.yaml"
    path.write_text(text, encoding="utf-8", newline="")
    with_libyaml, pure = both_ways(monkeypatch, path)
    assert with_libyaml == pure, text
