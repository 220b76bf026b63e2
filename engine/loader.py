"""The loading pipeline, in one place for the server, the CLI and the tests.

safe YAML keeping positions (``source``) → JSON Schema (``shape``) → meaning checks (``checks``)
→ immutable typed records (``flows``). Every problem of every file is reported in one run; a
file whose shape is wrong is not checked for meaning, so one mistake gives one error.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from engine import flows as f
from engine.problems import FlowErrors, FlowProblem
from engine.source import Source, load_source
from engine.shape import check_shape
from engine.compiled import Compiled
from engine.understand import normalise, words_of

FLOW_FILES = ("restaurant", "menu", "hours", "messages", "order")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class MissingFile(FlowProblem):
    text = {"es": "Falta el archivo {name}.", "en": "The file {name} is missing."}
    fix = {
        "es": "Cada bot necesita restaurant.yaml, menu.yaml, hours.yaml, messages.yaml y order.yaml en la misma carpeta.",
        "en": "Every bot needs restaurant.yaml, menu.yaml, hours.yaml, messages.yaml and order.yaml in one folder.",
    }


@dataclass
class Loaded:
    """The result of a load: the flows when nothing is wrong, and every problem found."""

    flows: f.Flows | None
    problems: list[FlowProblem] = field(default_factory=list)

    @property
    def errors(self) -> list[FlowProblem]:
        return [p for p in self.problems if p.severity == "error"]


def display_name(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def read_sources(directory: Path) -> tuple[dict[str, Source], list[FlowProblem]]:
    sources: dict[str, Source] = {}
    problems: list[FlowProblem] = []
    for kind in FLOW_FILES:
        path = directory / f"{kind}.yaml"
        name = display_name(path)
        if not path.exists():
            problems.append(MissingFile(file=name, details={"name": name}))
            continue
        try:
            source = load_source(path, name)
        except FlowErrors as errors:
            problems.extend(errors.problems)
            continue
        shape_problems = check_shape(source, kind)
        problems.extend(shape_problems)
        if not shape_problems:
            sources[kind] = source
    return sources, problems


def inspect(directory: Path) -> Loaded:
    """Run the whole pipeline; never raises for a mistake in the files."""
    from engine.checks import run_checks  # checks build on the records defined here

    sources, problems = read_sources(directory)
    if problems:
        return Loaded(None, problems)
    flows = build(sources)
    found = [sources[p_kind].locate_problem(p) for p_kind, p in run_checks(flows, sources)]
    if any(p.severity == "error" for p in found):
        return Loaded(None, found)
    return Loaded(flows, found)


def load_flows(directory: Path) -> f.Flows:
    """The checked flows, or ``FlowErrors`` with every problem."""
    loaded = inspect(Path(directory))
    if loaded.flows is None:
        raise FlowErrors(loaded.problems)
    return loaded.flows


# ------------------------------------------------------------------ building records


def build(sources: dict[str, Source]) -> f.Flows:
    data = {kind: source.data for kind, source in sources.items()}
    order = build_order(data["order"])
    digest = hashlib.sha256()
    for kind in FLOW_FILES:
        digest.update(repr(data[kind]).encode())
    messages = {str(k): str(v) for k, v in data["messages"].items()}
    flows = f.Flows(
        restaurant=build_restaurant(data["restaurant"]),
        menu=build_menu(data["menu"]),
        hours=build_hours(data["hours"]),
        messages=messages,
        order=order,
        hash=digest.hexdigest()[:12],
    )
    object.__setattr__(flows, "compiled", Compiled(flows, conditions_of(order)))
    return flows


def build_restaurant(raw: dict[str, Any]) -> f.Restaurant:
    delivery = raw["delivery"]
    words = raw["words"]
    return f.Restaurant(
        name=raw["name"],
        phone=str(raw["phone"]),
        country=raw["country"],
        currency=raw["currency"],
        language=raw.get("language", "es"),
        delivery=f.Delivery(delivery["fee"], delivery["free_from"], delivery["minimum"]),
        estimated_minutes={k: str(v) for k, v in raw["estimated_minutes"].items()},
        session_minutes=raw.get("session_minutes", 30),
        handover_minutes=raw.get("handover_minutes", 60),
        words=f.Words(
            words_of(words["yes"]), words_of(words["no"]), words_of(words["done"]), words_of(words.get("greeting", ()))
        ),
    )


def build_menu(raw: dict[str, Any]) -> f.Menu:
    groups = {
        group_id: f.OptionGroup(
            id=group_id,
            question=group["question"],
            choices=tuple(
                f.Choice(c["id"], c["name"], c.get("price", 0), tuple(words_of([c["name"], *c.get("words", [])])))
                for c in group["choices"]
            ),
            default=group.get("default"),
            ask=group.get("ask", True),
        )
        for group_id, group in (raw.get("options") or {}).items()
    }
    categories = []
    items: dict[str, f.Item] = {}
    for category in raw["categories"]:
        built = tuple(
            f.Item(
                id=item["id"],
                name=item["name"],
                price=item["price"],
                category=category["name"],
                aliases=tuple(item.get("aliases", ())),
                description=item.get("description"),
                options=tuple(item.get("options", ())),
                option_prices=dict(item.get("option_prices", {})),
                available=item.get("available", True),
                plural=item.get("plural", item["name"]),
                feminine=item.get("feminine", False),
                short_name=item.get("short_name", item["name"]),
            )
            for item in category["items"]
        )
        for item in built:
            items.setdefault(item.id, item)
        categories.append(f.Category(category["name"], category.get("emoji", ""), built))
    return f.Menu(raw["max_quantity"], groups, tuple(categories), items)


def parse_opening(value: str) -> f.Opening | None:
    if value == "closed":
        return None
    opens, closes = value.replace("–", "-").split("-")
    return f.Opening(parse_clock(opens), parse_clock(closes))


def parse_clock(text: str) -> time:
    hour, minute = text.strip().split(":")
    return time(int(hour) % 24, int(minute))


def build_hours(raw: dict[str, Any]) -> f.Hours:
    return f.Hours(
        timezone=raw["timezone"],
        last_orders_minutes=raw.get("last_orders_minutes", 0),
        weekly=tuple(parse_opening(raw["weekly"][day]) for day in DAYS),
        special={str(day): parse_opening(value) for day, value in (raw.get("special") or {}).items()},
    )


def build_target(raw: Any) -> f.Target:
    if isinstance(raw, str):
        return (f.Branch(raw),)
    return tuple(f.Branch(branch["go"], branch.get("if")) for branch in raw)


def build_step(step_id: str, raw: dict[str, Any]) -> f.Step:
    kind = raw["kind"]
    common = {"id": step_id}
    if kind == "message":
        return f.MessageStep(next=build_target(raw["next"]), say=raw.get("say"), do=tuple(raw.get("do", ())), **common)
    common.update(ask=raw["ask"], retry=raw.get("retry"))
    if kind == "order_item":
        return f.OrderItemStep(next=build_target(raw["next"]), done=build_target(raw["done"]), **common)
    if kind == "choice":
        choices = tuple(
            f.ChoiceOption(
                c["id"],
                c.get("name", c["id"]),
                tuple(words_of([c.get("name", c["id"]), *c.get("words", [])])),
                build_target(c["go"]) if "go" in c else None,
            )
            for c in raw["choices"]
        )
        next_ = build_target(raw["next"]) if "next" in raw else None
        return f.ChoiceStep(choices=choices, next=next_, save_as=raw.get("save_as"), **common)
    if kind == "text":
        return f.TextStep(
            save_as=raw["save_as"],
            next=build_target(raw["next"]),
            accept=tuple(raw.get("accept", ("text",))),
            min_length=raw.get("min_length", 1),
            max_length=raw.get("max_length", 300),
            **common,
        )
    if kind == "phone":
        return f.PhoneStep(
            save_as=raw["save_as"],
            next=build_target(raw["next"]),
            same_words=tuple(normalise(w) for w in raw.get("same_words", ())),
            **common,
        )
    if kind == "confirm":
        return f.ConfirmStep(yes=build_target(raw["yes"]), no=build_target(raw["no"]), **common)
    raise ValueError(f"unknown step kind {kind!r}")  # the schema lets none through


def build_order(raw: dict[str, Any]) -> f.OrderFlow:
    commands = tuple(
        f.Command(tuple(normalise(w) for w in c["words"]), c.get("say"), c.get("go")) for c in raw.get("commands", ())
    )
    steps = {str(step_id): build_step(str(step_id), step) for step_id, step in raw["steps"].items()}
    return f.OrderFlow(raw["start"], commands, steps)


def targets_of(step: f.Step) -> list[tuple[tuple[str | int, ...], f.Target]]:
    """Every target of a step with its path inside the step (for error positions)."""
    found: list[tuple[tuple[str | int, ...], f.Target]] = []
    for name in ("next", "done", "yes", "no"):
        target = getattr(step, name, None)
        if target is not None:
            found.append(((name,), target))
    if isinstance(step, f.ChoiceStep):
        found.extend((("choices", i, "go"), c.go) for i, c in enumerate(step.choices) if c.go is not None)
    return found


def conditions_of(order: f.OrderFlow) -> set[str]:
    return {
        branch.condition
        for step in order.steps.values()
        for _, target in targets_of(step)
        for branch in target
        if branch.condition
    }
