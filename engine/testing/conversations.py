"""Conversation tests: YAML files under ``flows/tests/`` that talk to the bot and check its answers.

They go through the same loading pipeline as the flows (positions, schema) and through the real
runtime, with a clock the test moves (``wait: 31m``). Orders get numbers from 1001 as the store
would give them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from engine.loading.problems import FlowErrors, FlowProblem, problem
from engine.loading.shape import check_shape
from engine.loading.source import Source, load_source
from engine.model.effects import Effect, HandOver, NotifyAdmin, Outcome
from engine.model.inbound import Inbound, Location
from engine.model.session import Session
from engine.runtime.flows import Flows
from engine.runtime.handle import handle
from engine.runtime.phones import normalise_whatsapp

DEFAULT_CUSTOMER = "+5215512345678"
_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    return timedelta(**{_UNITS[unit]: int(n) for n, unit in ((m.group(1), m.group(2)) for m in _DURATION.finditer(text))})


def parse_moment(text: str, zone: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(zone))


@dataclass
class Exchange:
    """One turn as it happened: what was sent, what came back."""

    sent: str
    replies: tuple[str, ...]
    effects: tuple[Effect, ...]


@dataclass
class Result:
    file: str
    name: str
    line: int
    failures: list[str] = field(default_factory=list)
    transcript: list[Exchange] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


class Conversation:
    """A customer talking to the bot, at a moment the caller controls."""

    def __init__(self, flows: Flows, customer: str, start: datetime, profile_name: str | None = None) -> None:
        self.flows = flows
        self.customer = normalise_whatsapp(customer)
        self.now = start
        self.profile_name = profile_name
        self.session: Session | None = None
        self.numbers: dict[str, int] = {}
        """Order key -> number, as the store gives them: the same key, the same order."""

    def send(self, text: str = "", location: Location | None = None, media: int = 0, tap: str | None = None) -> Outcome:
        """One message; ``tap``: the id of the button or list item tapped (``text`` is then its
        title, as WhatsApp sends it)."""
        inbound = Inbound(self.customer, text, location, self.profile_name, media=media, tap=tap)
        outcome = handle(self.flows, self.session, inbound, self.now)
        if outcome.order is not None:
            number = self.numbers.setdefault(outcome.order.key, 1001 + len(self.numbers))
            outcome = outcome.with_order_number(number)
        self.session = outcome.session
        return outcome

    def wait(self, duration: timedelta) -> None:
        self.now += duration


class UnknownMenuItem(FlowProblem):
    text = {"es": "El platillo «{item}» no está en el menú.", "en": "Item '{item}' is not on the menu."}
    fix = {"es": "Usa el id de menu.yaml.{close}", "en": "Use the id from menu.yaml.{close}"}


class UnknownMenuOption(FlowProblem):
    text = {"es": "«{group}: {choice}» no es una opción de «{item}».", "en": "'{group}: {choice}' is not an option of '{item}'."}
    fix = {"es": "Opciones de ese platillo: {choices}.", "en": "That item's options: {choices}."}


def load_tests(path: Path, flows: Flows | None = None) -> tuple[Source, Any]:
    """A conversation test file, checked for shape and (given the flows) for menu items that exist:
    its source (for positions) and its data."""
    source = load_source(path, path.as_posix())
    problems = check_shape(source, "conversation")
    if not problems and flows is not None:
        problems = [source.locate_problem(p) for p in unknown_items(flows, source)]
    if problems:
        raise FlowErrors(problems)
    return source, source.data


def unknown_items(flows: Flows, source: Source) -> Iterator[FlowProblem]:
    menu = flows.menu
    for t, test in enumerate(source.data["tests"]):
        for n, turn in enumerate(test["turns"]):
            for l, line in enumerate(turn.get("expect_order", {}).get("lines", [])):
                where = ("tests", t, "turns", n, "expect_order", "lines", l)
                item = menu.items.get(line["item"])
                if item is None:
                    close = get_close_matches(line["item"], list(menu.items), n=1)
                    yield problem(UnknownMenuItem, source.file, (*where, "item"), item=line["item"], close=close[0] if close else None)
                    continue
                for group, choice in (line.get("options") or {}).items():
                    known = menu.options.get(group)
                    if group not in item.options or known is None or known.choice(choice) is None:
                        choices = ", ".join(f"{g}: {c.id}" for g in item.options if g in menu.options for c in menu.options[g].choices)
                        yield problem(UnknownMenuOption, source.file, (*where, "options", group), item=item.id, group=group, choice=choice, choices=choices or "—")


def run_file(flows: Flows, path: Path) -> list[Result]:
    source, data = load_tests(path, flows)
    results = []
    for index, test in enumerate(data["tests"]):
        line, _ = source.locate(("tests", index, "name"))
        results.append(run_test(flows, test, Result(path.as_posix(), test["name"], line)))
    return results


def run_test(flows: Flows, test: dict[str, Any], result: Result) -> Result:
    talk = Conversation(
        flows,
        test.get("from", DEFAULT_CUSTOMER),
        parse_moment(test["at"], flows.hours.timezone),
        test.get("profile_name"),
    )
    for number, turn in enumerate(test["turns"], 1):
        if "wait" in turn:
            talk.wait(parse_duration(turn["wait"]))
            result.transcript.append(Exchange(f"(espera {turn['wait']})", (), ()))
            continue
        location = None
        if "location" in turn:
            pin = turn["location"]
            location = Location(float(pin["latitude"]), float(pin["longitude"]), pin.get("label"))
        text = str(turn.get("send", ""))
        media = int(turn.get("media", 0))
        outcome = talk.send(text, location, media)
        sent = text or (location.describe() if location else "") or ("📷" * media)
        result.transcript.append(Exchange(sent, outcome.replies, outcome.effects))
        failures = check_turn(turn, outcome)
        if failures:
            result.failures = [f"turno {number} ({sent!r}): {f}" for f in failures]
            break
    return result


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def check_turn(turn: dict[str, Any], outcome: Outcome) -> list[str]:
    said = "\n".join(outcome.replies)
    failures = [f"esperaba «{t}» en la respuesta" for t in _as_list(turn.get("expect", [])) if t not in said]
    failures += [f"esperaba que la respuesta cumpliera /{r}/" for r in _as_list(turn.get("expect_regex", [])) if not re.search(r, said)]
    failures += [f"no esperaba «{t}» en la respuesta" for t in _as_list(turn.get("expect_not", [])) if t in said]
    if turn.get("expect_silence") and outcome.replies:
        failures.append("esperaba que el bot no contestara")
    admin = "\n".join(e.text for e in outcome.effects if isinstance(e, NotifyAdmin))
    failures += [f"esperaba «{t}» en el aviso al admin" for t in _as_list(turn.get("expect_admin", [])) if t not in admin]
    if turn.get("expect_handover") and not any(isinstance(e, HandOver) for e in outcome.effects):
        failures.append("esperaba que una persona tomara la conversación")
    if turn.get("expect_no_order") and outcome.order is not None:
        failures.append("no esperaba un pedido")
    if "expect_order" in turn:
        failures += check_order(turn["expect_order"], outcome)
    return failures


def check_order(expected: dict[str, Any], outcome: Outcome) -> list[str]:
    order = outcome.order
    if order is None:
        return ["esperaba un pedido guardado"]
    failures = []
    for name in ("total", "subtotal", "delivery_fee", "fulfilment", "payment", "name", "contact", "address"):
        if name in expected and getattr(order, name) != expected[name]:
            failures.append(f"pedido: {name} = {getattr(order, name)!r}, esperaba {expected[name]!r}")
    if "lines" in expected:
        actual = [(l.item_id, l.quantity, l.options, l.total) for l in order.lines]
        if len(actual) != len(expected["lines"]):
            failures.append(f"pedido: {len(actual)} líneas {actual}, esperaba {len(expected['lines'])}")
        for want, (item, quantity, options, total) in zip(expected["lines"], actual):
            got = {"item": item, "quantity": quantity, "options": options, "total": total}
            for key, value in want.items():
                if key == "options":
                    wrong = {k: v for k, v in value.items() if options.get(k) != v}
                    if wrong:
                        failures.append(f"pedido: opciones de {item} {options}, esperaba {value}")
                elif got[key] != value:
                    failures.append(f"pedido: {key} de {item} = {got[key]!r}, esperaba {value!r}")
    return failures


def transcript(result: Result) -> str:
    lines = []
    for exchange in result.transcript:
        lines.append(f"  👤 {exchange.sent}")
        for reply in exchange.replies:
            lines.append("  🤖 " + reply.replace("\n", "\n     "))
        for effect in exchange.effects:
            lines.append(f"  ⚙️  {type(effect).__name__}")
    return "\n".join(lines)
