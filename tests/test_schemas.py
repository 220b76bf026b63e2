"""The schemas are valid JSON Schema, helpful in editors, and every shipped flow file passes its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from jsonschema import Draft202012Validator

from engine.loading.shape import KINDS, SCHEMAS, check_shape
from engine.loading.source import load_source

ROOT = Path(__file__).resolve().parent.parent
FLOW_KINDS = ("restaurant", "menu", "hours", "messages", "order")
FLOW_FOLDERS = (ROOT / "flows", *sorted((ROOT / "examples").glob("*/flows")))
"""El Rinconcito's flows and every example restaurant's."""


def flow_files() -> list[tuple[Path, str]]:
    """Every shipped flow file with its kind: <folder>/<kind>.yaml, and <folder>/tests/*.yaml."""
    files = []
    for folder in FLOW_FOLDERS:
        files += [(folder / f"{kind}.yaml", kind) for kind in FLOW_KINDS]
        files += [(path, "conversation") for path in sorted((folder / "tests").glob("*.yaml"))]
    return files


def test_the_example_restaurants_are_checked_too() -> None:
    assert ROOT / "examples" / "nonna-rosa" / "flows" in FLOW_FOLDERS
    assert len([path for path, _ in flow_files() if "examples" in path.parts]) >= 10


def schema(kind: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))


def subschemas(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object inside a schema, with a readable place."""
    if not isinstance(node, dict):
        return
    yield where, node
    for key in ("properties", "$defs"):
        for name, child in node.get(key, {}).items():
            yield from subschemas(child, f"{where}/{key}/{name}")
    for key in ("items", "additionalProperties", "propertyNames"):
        if isinstance(node.get(key), dict):
            yield from subschemas(node[key], f"{where}/{key}")
    for key in ("oneOf", "anyOf"):
        for i, child in enumerate(node.get(key, [])):
            yield from subschemas(child, f"{where}/{key}/{i}")


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_valid_2020_12(kind: str) -> None:
    document = schema(kind)
    Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"].endswith(f"/{kind}.schema.json")


@pytest.mark.parametrize("kind", KINDS)
def test_every_schema_object_has_a_title_and_description(kind: str) -> None:
    missing = [
        where or "/"
        for where, node in subschemas(schema(kind))
        # a bare reference takes its help from the definition it points to
        if set(node) - {"$ref"} and not (node.get("description") or "$ref" in node)
    ]
    assert missing == []
    for where, node in subschemas(schema(kind)):
        if "properties" in node or where == "":
            assert node.get("title") and node.get("description"), where


@pytest.mark.parametrize("kind", KINDS)
def test_every_hint_has_both_languages(kind: str) -> None:
    for where, node in subschemas(schema(kind)):
        if "x-hint" in node:
            assert set(node["x-hint"]) == {"es", "en"}, where


@pytest.mark.parametrize(("path", "kind"), flow_files(), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_shipped_flow_passes_its_schema(path: Path, kind: str) -> None:
    name = path.relative_to(ROOT).as_posix()
    problems = check_shape(load_source(path, name), kind)
    assert [f"{p.location()} {p.render()}" for p in problems] == []


@pytest.mark.parametrize(("path", "kind"), flow_files(), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_flow_file_names_its_schema_on_the_first_line(path: Path, kind: str) -> None:
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    up = len(path.parent.relative_to(ROOT).parts)  # flows/ -> 1, examples/x/flows/tests/ -> 4
    relative = "/".join([".."] * up) + "/schemas"
    assert first_line == f"# yaml-language-server: $schema={relative}/{kind}.schema.json"
    assert (path.parent / relative / f"{kind}.schema.json").resolve() == (SCHEMAS / f"{kind}.schema.json").resolve()


def test_schemas_are_read_once() -> None:
    from engine.loading.shape import validator_for

    assert validator_for("menu") is validator_for("menu")
