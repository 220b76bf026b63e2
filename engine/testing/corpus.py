"""The understanding corpus: messages as customers really write them, and what each one means.

Files under ``tests/corpus/`` hold entries grouped by kind. Each entry puts the bot in a state (a
named setup from ``setups.yaml``, and/or a few earlier messages from a fresh conversation), sends
one message (sometimes a short follow-up), and says what the message means, judged from the
session and the effects the turn returned, never from how the reply is worded:

``step``      the step the bot waits at afterwards (``end``: the conversation is over);
``cart``      the cart lines afterwards (``"3 pastor harina sin_cebolla"``: quantity, item id, and
              the choice ids it must carry; unlisted option groups are not checked);
``pending``   the lines still being asked about (``"? pastor"``: quantity not known yet);
``answers``   answers saved (``fulfilment: pickup``; ``null``: not saved);
``placed``    an order was placed (its lines count as the cart, its fields as the answers);
``asked``     the bot asked or answered and changed nothing (it must say something);
``shows``     messages of the flows that must appear, rendered as the bot would (``menu``);
``tells``     facts the reply must carry (``"$30"``; a list: any one of them);
``handover``  a person was asked to take over.

An entry's ``media: true`` sends its text with one file attached (a photo, a voice note), as the
webhook hands it to the runtime.

What an expectation does not mention must stay as it was: an entry that expects only ``step:
entrega`` also says the cart and the answers did not change. An entry marked ``guard`` (or a
file marked so) says that a change nobody asked for is a *silent wrong action*: the cart, an
answer or a placed order that is neither what it was nor what was expected. The runner plays
everything with ``engine.runtime.handle.handle`` at a fixed moment inside opening hours and
gives each entry a verdict: understood, not understood, or silent wrong action.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import permutations
from pathlib import Path
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from engine.loading.problems import FlowErrors
from engine.loading.source import Source, load_source
from engine.model.effects import HandOver, Outcome
from engine.model.session import Line, Session
from engine.runtime.context import HoursView, build_context
from engine.runtime.flows import Flows
from engine.testing.conversations import DEFAULT_CUSTOMER, Conversation, parse_duration

MOMENT = "2026-11-26 14:00"
"""A Thursday afternoon, inside the opening hours of the flows the corpus is written for."""
END_STEP = "end"
"""How ``step`` names "no step waiting": the conversation ended (or has not started)."""
SETUPS_FILE = "setups.yaml"
KINDS = (
    "scripted", "intents", "edits", "questions", "quantities", "ambiguity", "options", "names_contacts",
    "confirmation", "two_intents", "corrections", "lookalikes", "media_optout", "english",
)
"""The kinds of entry, in the order reports list them."""
SHOWABLE = ("menu", "cart", "help", "handover", "confirm_cancel", "order_summary")
"""Messages of the flows an entry may expect to see (``shows``)."""
_EXPECT_KEYS = frozenset({"step", "cart", "pending", "answers", "placed", "asked", "shows", "tells", "handover"})
_ENTRY_KEYS = frozenset({"at", "after", "send", "media", "expect", "then", "guard", "note"})


class CorpusError(ValueError):
    """A corpus file that cannot be used: says which file, where and why."""


class Verdict(enum.Enum):
    UNDERSTOOD = "understood"
    NOT_UNDERSTOOD = "not understood"
    SILENT_WRONG = "silent wrong action"


# ---------------------------------------------------------------- what an entry holds


@dataclass(frozen=True, slots=True)
class LineSpec:
    """A cart line as an expectation states it."""

    item: str
    """Menu item id."""
    quantity: int | None
    """None: not known yet (only for pending lines)."""
    choices: tuple[str, ...]
    """Choice ids the line must carry; option groups not named here are not checked."""

    def matches(self, line: Line) -> bool:
        return line.item == self.item and line.quantity == self.quantity and set(self.choices) <= set(line.options.values())

    def __str__(self) -> str:
        quantity = "?" if self.quantity is None else str(self.quantity)
        return " ".join([quantity, self.item, *self.choices])


@dataclass(frozen=True, slots=True)
class Expect:
    """What a message means, as state: anything left None stays as it was."""

    step: tuple[str, ...] | None = None
    """Acceptable steps afterwards (one, or a few that all mean the same)."""
    cart: tuple[LineSpec, ...] | None = None
    pending: tuple[LineSpec, ...] | None = None
    answers: dict[str, str | None] = field(default_factory=dict)
    """Answer name -> value afterwards (None: not saved); others stay as they were."""
    placed: bool = False
    asked: bool = False
    """Nothing changes and the bot says something: a question, an answer, a which-one."""
    shows: tuple[str, ...] = ()
    tells: tuple[tuple[str, ...], ...] = ()
    """Facts the reply carries; each is a few spellings, any one of which will do."""
    handover: bool = False


@dataclass(frozen=True, slots=True)
class CorpusMessage:
    send: str
    expect: Expect
    media: bool = False
    """A photo or a voice note comes with the text (``Inbound.media``): with no words, the text is empty."""


@dataclass(frozen=True, slots=True)
class Setup:
    """A state many entries start from, reached by messages from a fresh conversation."""

    name: str
    messages: tuple[str | timedelta, ...]
    """Texts sent, or waits (the clock moves on)."""
    step: str
    """Where the messages must leave the bot: a setup that no longer gets there is an error."""


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    """``kind: setup + earlier messages | message``: unique and stable while the entry is."""
    kind: str
    file: str
    line: int
    setup: str | None
    after: tuple[str | timedelta, ...]
    """Messages sent after the setup (or from a fresh conversation), before the entry's own."""
    turns: tuple[CorpusMessage, ...]
    """The message, then any follow-up; all must be understood."""
    guard: bool
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Corpus:
    setups: dict[str, Setup]
    entries: tuple[Entry, ...]


# ---------------------------------------------------------------- reading the files


def load_corpus(directory: Path, flows: Flows) -> Corpus:
    """Every ``*.yaml`` under ``directory``, checked against the flows' menu and steps."""
    setups_path = directory / SETUPS_FILE
    setups = read_setups(_source(setups_path, directory), flows)
    entries: list[Entry] = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name != SETUPS_FILE:
            entries.extend(read_entries(_source(path, directory), flows, setups))
    seen = Counter(entry.id for entry in entries)
    twice = sorted(entry_id for entry_id, count in seen.items() if count > 1)
    if twice:
        raise CorpusError(f"entries written twice: {'; '.join(twice)}")
    return Corpus(setups, tuple(entries))


def _source(path: Path, directory: Path) -> Source:
    try:
        return load_source(path, f"{directory.name}/{path.name}")
    except FlowErrors as errors:
        raise CorpusError("\n".join(f"{p.location()}: {p.render('en')}" for p in errors.problems)) from None
    except OSError as error:
        raise CorpusError(f"{path}: {error.strerror}") from None


class _Reader:
    """Turns one file's plain data into records, with the file and line of every mistake."""

    def __init__(self, source: Source, flows: Flows) -> None:
        self.source = source
        self.flows = flows

    def fail(self, path: tuple[str | int, ...], why: str) -> CorpusError:
        line, _ = self.source.locate(path)
        return CorpusError(f"{self.source.file}:{line}: {why}")

    def mapping(self, value: Any, path: tuple[str | int, ...], allowed: frozenset[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "expected a mapping")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(path, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
        return value

    def listing(self, value: Any, path: tuple[str | int, ...]) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(path, "expected a list")
        return value

    def messages(self, value: Any, path: tuple[str | int, ...]) -> tuple[str | timedelta, ...]:
        said: list[str | timedelta] = []
        for index, message in enumerate(self.listing(value, path)):
            if isinstance(message, dict):
                wait = self.mapping(message, (*path, index), frozenset({"wait"}))["wait"]
                if not isinstance(wait, str) or not parse_duration(wait):
                    raise self.fail((*path, index), f"a wait is written like 31m, not {wait!r}")
                said.append(parse_duration(wait))
            elif isinstance(message, (str, int)) and not isinstance(message, bool):
                said.append(str(message))
            else:
                raise self.fail((*path, index), "a message is text (or {wait: 31m})")
        return tuple(said)

    def step(self, value: Any, path: tuple[str | int, ...]) -> str:
        if value != END_STEP and value not in self.flows.order.steps:
            raise self.fail(path, f"no step {value!r} in the flows (steps: {', '.join(self.flows.order.steps)})")
        return str(value)

    def line_spec(self, value: Any, path: tuple[str | int, ...], pending: bool) -> LineSpec:
        words = str(value).split()
        if len(words) < 2:
            raise self.fail(path, f"a line is 'quantity item [choices]', like '3 pastor harina', not {value!r}")
        quantity_word, item_id, *choices = words
        if quantity_word == "?" and pending:
            quantity = None
        elif quantity_word.isdigit():
            quantity = int(quantity_word)
        else:
            raise self.fail(path, f"{quantity_word!r} is not a quantity" + (" (or ?)" if pending else ""))
        item = self.flows.menu.items.get(item_id)
        if item is None:
            raise self.fail(path, f"no item {item_id!r} on the menu")
        known = {c.id for g in item.options if g in self.flows.menu.options for c in self.flows.menu.options[g].choices}
        wrong = [c for c in choices if c not in known]
        if wrong:
            raise self.fail(path, f"{wrong[0]!r} is not an option of {item_id} ({', '.join(sorted(known)) or 'none'})")
        return LineSpec(item_id, quantity, tuple(choices))

    def expect(self, value: Any, path: tuple[str | int, ...]) -> Expect:
        raw = self.mapping(value, path, _EXPECT_KEYS)
        steps = None
        if "step" in raw:
            listed = raw["step"] if isinstance(raw["step"], list) else [raw["step"]]
            steps = tuple(self.step(s, (*path, "step")) for s in listed)
        lines: dict[str, tuple[LineSpec, ...] | None] = {"cart": None, "pending": None}
        for name in lines:
            if name in raw:
                specs = self.listing(raw[name], (*path, name))
                lines[name] = tuple(self.line_spec(s, (*path, name, i), name == "pending") for i, s in enumerate(specs))
        answers = self.mapping(raw.get("answers", {}), (*path, "answers"), frozenset(self._answer_names()))
        shows = tuple(str(s) for s in self.listing(raw.get("shows", []), (*path, "shows")))
        for index, key in enumerate(shows):
            if key not in SHOWABLE:
                raise self.fail((*path, "shows", index), f"shows one of {', '.join(SHOWABLE)}, not {key!r}")
        tells = tuple(
            tuple(str(x) for x in fact) if isinstance(fact, list) else (str(fact),)
            for fact in self.listing(raw.get("tells", []), (*path, "tells"))
        )
        flags = {}
        for name in ("placed", "asked", "handover"):
            flag = raw.get(name, False)
            if not isinstance(flag, bool):
                raise self.fail((*path, name), f"{name} is true or false")
            flags[name] = flag
        if flags["asked"] and ({"step", "cart", "pending", "answers", "placed"} & set(raw)):
            raise self.fail(path, "asked means nothing changes: it goes without step, cart, pending, answers or placed")
        if not raw:
            raise self.fail(path, "say what the message means (step, cart, answers, asked...)")
        return Expect(
            step=steps,
            cart=lines["cart"],
            pending=lines["pending"],
            answers={str(k): None if v is None else str(v) for k, v in answers.items()},
            placed=flags["placed"],
            asked=flags["asked"],
            shows=shows,
            tells=tells,
            handover=flags["handover"],
        )

    def _answer_names(self) -> set[str]:
        names = {"name", "contact", "fulfilment", "address", "payment", "location"}
        names.update(s for s in (getattr(step, "save_as", None) for step in self.flows.order.steps.values()) if s)
        return names

    def turn(self, raw: dict[str, Any], path: tuple[str | int, ...]) -> CorpusMessage:
        if "send" not in raw:
            raise self.fail(path, "every turn has 'send' (an empty text for a photo with no words)")
        if "expect" not in raw:
            raise self.fail(path, "every turn has 'expect'")
        send = raw["send"]
        if send is None:
            send = ""
        if not isinstance(send, (str, int)) or isinstance(send, bool):
            raise self.fail((*path, "send"), "send is text")
        media = raw.get("media", False)
        if not isinstance(media, bool):
            raise self.fail((*path, "media"), "media is true or false")
        return CorpusMessage(str(send), self.expect(raw["expect"], (*path, "expect")), media)


def read_setups(source: Source, flows: Flows) -> dict[str, Setup]:
    reader = _Reader(source, flows)
    top = reader.mapping(source.data, (), frozenset({"setups"}))
    setups = {}
    for name, raw in reader.mapping(top.get("setups"), ("setups",), frozenset(top.get("setups") or {})).items():
        path: tuple[str | int, ...] = ("setups", name)
        body = reader.mapping(raw, path, frozenset({"say", "step", "note"}))
        if "step" not in body:
            raise reader.fail(path, "a setup says which step it reaches ('step')")
        setups[name] = Setup(name, reader.messages(body.get("say", []), (*path, "say")), reader.step(body["step"], (*path, "step")))
    return setups


def read_entries(source: Source, flows: Flows, setups: dict[str, Setup]) -> list[Entry]:
    reader = _Reader(source, flows)
    top = reader.mapping(source.data, (), frozenset({"kind", "guard", "entries"}))
    kind = top.get("kind")
    if kind not in KINDS:
        raise reader.fail(("kind",), f"kind is one of {', '.join(KINDS)}, not {kind!r}")
    file_guard = top.get("guard", False)
    if not isinstance(file_guard, bool):
        raise reader.fail(("guard",), "guard is true or false")
    entries = []
    for index, raw in enumerate(reader.listing(top.get("entries"), ("entries",))):
        path: tuple[str | int, ...] = ("entries", index)
        body = reader.mapping(raw, path, _ENTRY_KEYS)
        setup = body.get("at")
        if setup is not None and setup not in setups:
            raise reader.fail((*path, "at"), f"no setup {setup!r} in {SETUPS_FILE} (setups: {', '.join(setups)})")
        after = reader.messages(body.get("after", []), (*path, "after"))
        turns = [reader.turn(body, path)]
        for number, follow in enumerate(reader.listing(body.get("then", []), (*path, "then"))):
            turns.append(reader.turn(reader.mapping(follow, (*path, "then", number), frozenset({"send", "media", "expect"})), (*path, "then", number)))
        guard = body.get("guard", file_guard)
        if not isinstance(guard, bool):
            raise reader.fail((*path, "guard"), "guard is true or false")
        line, _ = source.locate(path)
        entries.append(
            Entry(
                id=entry_id(str(kind), setup, after, turns[0]),
                kind=str(kind),
                file=source.file,
                line=line,
                setup=setup,
                after=after,
                turns=tuple(turns),
                guard=guard,
                note=str(body["note"]) if body.get("note") else None,
            )
        )
    return entries


def entry_id(kind: str, setup: str | None, after: Iterable[str | timedelta], turn: CorpusMessage) -> str:
    before = [setup or "fresh", *(f"«{m}»" if isinstance(m, str) else f"(wait {m})" for m in after)]
    said = "(media)" if turn.media and not turn.send else turn.send
    return f"{kind}: {' + '.join(before)} | {said}"


# ---------------------------------------------------------------- playing an entry


@dataclass(frozen=True, slots=True)
class State:
    """What a turn is judged on: the session's meaning, before or after the turn."""

    step: str
    cart: tuple[Line, ...]
    pending: tuple[Line, ...]
    answers: dict[str, Any]

    @classmethod
    def of(cls, session: Session | None, outcome: Outcome | None = None) -> State:
        if session is None:
            return cls(END_STEP, (), (), {})
        order = outcome.order if outcome is not None else None
        if order is None:
            return cls(session.step or END_STEP, session.cart, session.pending, dict(session.answers))
        # Placing an order empties the cart and forgets the answers: the order is where they went.
        cart = tuple(Line(l.item_id, l.quantity, dict(l.options)) for l in order.lines)
        answers: dict[str, Any] = {
            "name": order.name, "contact": order.contact, "fulfilment": order.fulfilment, "payment": order.payment,
            **order.extra,
        }
        if order.address is not None:
            answers["address"] = order.address
        if order.location is not None:
            pin = order.location
            answers["location"] = {"latitude": pin.latitude, "longitude": pin.longitude, "label": pin.label}
        return cls(session.step or END_STEP, cart, session.pending, answers)


@dataclass(frozen=True, slots=True)
class Played:
    """One turn as it happened."""

    sent: str
    replies: tuple[str, ...]
    before: State
    after: State
    failures: tuple[str, ...]
    wrong: tuple[str, ...]
    """Changes nobody asked for (cart, answers, an order): what makes a silent wrong action."""


@dataclass(frozen=True, slots=True)
class EntryResult:
    entry: Entry
    verdict: Verdict
    turns: tuple[Played, ...]
    """The entry's turns, up to the first that was not understood."""

    @property
    def failures(self) -> tuple[str, ...]:
        return tuple(f for played in self.turns for f in played.failures)

    @property
    def wrong(self) -> tuple[str, ...]:
        return tuple(w for played in self.turns for w in played.wrong)


class SetupBroken(CorpusError):
    """A setup's messages no longer reach its step: the flows changed under the corpus."""


def play(flows: Flows, corpus: Corpus, entry: Entry) -> EntryResult:
    """One entry from a fresh conversation, at ``MOMENT``."""
    zone = ZoneInfo(flows.hours.timezone)
    talk = Conversation(flows, DEFAULT_CUSTOMER, datetime.strptime(MOMENT, "%Y-%m-%d %H:%M").replace(tzinfo=zone))
    if entry.setup is not None:
        setup = corpus.setups[entry.setup]
        _say(talk, setup.messages)
        reached = State.of(talk.session).step
        if reached != setup.step:
            raise SetupBroken(f"setup {setup.name!r} ends at step {reached!r}, not {setup.step!r}")
    _say(talk, entry.after)
    played: list[Played] = []
    for turn in entry.turns:
        before = State.of(talk.session)
        outcome = talk.send(turn.send, media=1 if turn.media else 0)
        after = State.of(talk.session, outcome)
        failures = judge(turn.expect, turn.send, before, after, outcome, lambda key: shown(flows, key, talk))
        wrong = unasked_changes(turn.expect, before, after, outcome) if failures else ()
        played.append(Played(turn.send, outcome.replies, before, after, failures, wrong))
        if failures:
            break
    last = played[-1]
    if not last.failures:
        verdict = Verdict.UNDERSTOOD
    elif entry.guard and any(p.wrong for p in played):
        verdict = Verdict.SILENT_WRONG
    else:
        verdict = Verdict.NOT_UNDERSTOOD
    return EntryResult(entry, verdict, tuple(played))


def _say(talk: Conversation, messages: Iterable[str | timedelta]) -> None:
    for message in messages:
        if isinstance(message, timedelta):
            talk.wait(message)
        else:
            talk.send(message)


def play_all(flows: Flows, corpus: Corpus) -> list[EntryResult]:
    return [play(flows, corpus, entry) for entry in corpus.entries]


# ---------------------------------------------------------------- judging a turn


def lines_match(specs: tuple[LineSpec, ...], lines: tuple[Line, ...]) -> bool:
    """Each line matches one spec, each spec one line (in any order)."""
    if len(specs) != len(lines):
        return False
    if len(lines) > 6:  # more lines than any entry writes: in order, then
        return all(s.matches(l) for s, l in zip(specs, lines))
    return any(all(s.matches(l) for s, l in zip(order, lines)) for order in permutations(specs))


def same_lines(a: tuple[Line, ...], b: tuple[Line, ...]) -> bool:
    return sorted(map(_key, a)) == sorted(map(_key, b))


def show_lines(lines: tuple[Line, ...]) -> str:
    shown = [" ".join(["?" if l.quantity is None else str(l.quantity), l.item, *l.options.values()]) for l in lines]
    return "[" + ", ".join(shown) + "]"


def expected_answers(expect: Expect, before: State) -> dict[str, Any]:
    answers = {**before.answers, **expect.answers}
    return {k: v for k, v in answers.items() if v is not None}


def judge(
    expect: Expect, sent: str, before: State, after: State, outcome: Outcome, render: Callable[[str], str]
) -> tuple[str, ...]:
    """What in the turn differs from what ``expect`` says (``render``: a message of the flows, now)."""
    failures: list[str] = []
    steps = expect.step or (before.step,)
    if after.step not in steps:
        failures.append(f"step {after.step}, expected {' or '.join(steps)}")
    if expect.cart is not None:
        if not lines_match(expect.cart, after.cart):
            failures.append(f"cart {show_lines(after.cart)}, expected [{', '.join(map(str, expect.cart))}]")
    elif not same_lines(after.cart, before.cart):
        failures.append(f"cart {show_lines(after.cart)}, expected it unchanged {show_lines(before.cart)}")
    if expect.pending is not None:
        if not lines_match(expect.pending, after.pending):
            failures.append(f"pending {show_lines(after.pending)}, expected [{', '.join(map(str, expect.pending))}]")
    elif not same_lines(after.pending, before.pending) and after.step != END_STEP:
        failures.append(f"pending {show_lines(after.pending)}, expected it unchanged {show_lines(before.pending)}")
    wanted = expected_answers(expect, before)
    over = after.step == END_STEP and outcome.order is None  # an ended conversation forgets its answers
    for name in sorted(set(wanted) | set(after.answers)):
        if after.answers.get(name) != wanted.get(name) and not over:
            failures.append(f"answer {name} = {after.answers.get(name)!r}, expected {wanted.get(name)!r}")
    placed = outcome.order is not None
    if placed != expect.placed:
        failures.append("an order was placed" if placed else "no order was placed")
    handed = any(isinstance(e, HandOver) for e in outcome.effects)
    if handed != expect.handover:
        failures.append("handed over to a person" if handed else "nobody was asked to take over")
    said = "\n".join(outcome.replies)
    if expect.asked and not said.strip():
        failures.append("the bot said nothing")
    for key in expect.shows:
        if render(key) not in said:
            failures.append(f"did not show the {key} message")
    # The customer's own words echoed back ("no encontré «¿aceptan tarjeta?»") tell nothing.
    lowered = said.replace(sent.strip(), " ").casefold() if sent.strip() else said.casefold()
    for fact in expect.tells:
        if not any(spelling.casefold() in lowered for spelling in fact):
            failures.append(f"did not tell {' / '.join(fact)}")
    return tuple(failures)


def shown(flows: Flows, key: str, talk: Conversation) -> str:
    """The message ``key`` as the bot would say it now (in the session after the turn)."""
    session = talk.session or Session(flows_hash=flows.hash)
    customer = {"phone": talk.customer, "profile_name": talk.profile_name, "recent": list(session.recent)}
    context = build_context(flows, session, customer, HoursView(flows, talk.now), "")
    return flows.compiled.templates.render(key, context)


def unasked_changes(expect: Expect, before: State, after: State, outcome: Outcome) -> tuple[str, ...]:
    """What changed that is neither what was there nor what the entry expected."""
    wrong: list[str] = []
    cart_ok = lines_match(expect.cart, after.cart) if expect.cart is not None else False
    if not same_lines(after.cart, before.cart) and not cart_ok:
        wrong.append(f"cart became {show_lines(after.cart)}")
    wanted = expected_answers(expect, before)
    for name in sorted(set(after.answers) | set(before.answers)):
        value = after.answers.get(name)
        if value != before.answers.get(name) and value != wanted.get(name) and not (value is None and after.step == END_STEP):
            wrong.append(f"answer {name} became {value!r}")
    decided = unasked_pending(expect, before, after)
    if decided:
        wrong.append(f"pending became {show_lines(after.pending)}")
    if outcome.order is not None and not expect.placed:
        wrong.append("placed an order")
    return tuple(wrong)


def unasked_pending(expect: Expect, before: State, after: State) -> bool:
    """A line still being asked about got a quantity or an option nobody said.

    Such a line reaches the cart after the remaining questions without anyone asking about what
    was decided ("la orden de 5" taken as five orders: only the tortilla is asked next). What is
    decided is counted per item over the cart and the pending lines together, so a pending line
    that will add up with a cart line ("2 más de pastor") is judged by the sum it leads to. A
    line added with its quantity unknown is a question being asked, not a decision.
    """
    if after.step == END_STEP or same_lines(after.pending, before.pending):
        return False
    if expect.pending is not None and lines_match(expect.pending, after.pending):
        return False
    was = _decided(before.cart + before.pending)
    now = _decided(after.cart + after.pending)
    wanted = _decided_specs(
        expect.cart if expect.cart is not None else _as_specs(before.cart),
        expect.pending if expect.pending is not None else _as_specs(before.pending),
    )
    for item in {line.item for line in after.pending}:
        if now.get(item) == was.get(item):
            continue
        total, units = now.get(item, (0, Counter()))
        was_total, was_units = was.get(item, (0, Counter()))
        wanted_total, wanted_units = wanted.get(item, (0, Counter()))
        if total is not None and total not in (wanted_total, was_total) and wanted_total is not None:
            return True
        if any(count > max(wanted_units[c], was_units[c]) for c, count in units.items()):
            return True
    return False


Decided = dict[str, tuple[int | None, Counter[str]]]
"""Item id -> its total quantity (None: some line's is not known yet) and the units of each choice."""


def _decided(lines: Iterable[Line]) -> Decided:
    return _tot((line.item, line.quantity, line.options.values()) for line in lines)


def _decided_specs(*groups: Iterable[LineSpec]) -> Decided:
    return _tot((spec.item, spec.quantity, spec.choices) for specs in groups for spec in specs)


def _tot(lines: Iterable[tuple[str, int | None, Iterable[str]]]) -> Decided:
    found: dict[str, tuple[int | None, Counter[str]]] = {}
    for item, quantity, choices in lines:
        total, units = found.get(item, (0, Counter()))
        total = None if total is None or quantity is None else total + quantity
        if quantity is not None:  # a line whose quantity is still asked is a question, not a decision
            units = units + Counter({choice: quantity for choice in choices})
        found[item] = (total, units)
    return found


def _as_specs(lines: tuple[Line, ...]) -> tuple[LineSpec, ...]:
    return tuple(LineSpec(line.item, line.quantity, tuple(line.options.values())) for line in lines)


def _key(line: Line) -> tuple[str, int, tuple[tuple[str, str], ...]]:
    return (line.item, -1 if line.quantity is None else line.quantity, tuple(sorted(line.options.items())))


# ---------------------------------------------------------------- counting


@dataclass(frozen=True, slots=True)
class Tally:
    entries: int = 0
    understood: int = 0
    silent_wrong: int = 0

    @property
    def percent(self) -> float:
        return 100.0 * self.understood / self.entries if self.entries else 0.0

    def add(self, result: EntryResult) -> Tally:
        return Tally(
            self.entries + 1,
            self.understood + (result.verdict is Verdict.UNDERSTOOD),
            self.silent_wrong + (result.verdict is Verdict.SILENT_WRONG),
        )


def tally(results: Iterable[EntryResult]) -> tuple[dict[str, Tally], Tally]:
    """Per kind (in ``KINDS`` order) and in total."""
    kinds: dict[str, Tally] = {}
    total = Tally()
    for result in results:
        kinds[result.entry.kind] = kinds.get(result.entry.kind, Tally()).add(result)
        total = total.add(result)
    return {k: kinds[k] for k in KINDS if k in kinds}, total


def explain(result: EntryResult) -> str:
    """A few lines on what happened: for reports of entries that were not understood."""
    lines = [f"{result.entry.id}  [{result.verdict.value}]  ({result.entry.file}:{result.entry.line})"]
    for played in result.turns:
        lines.append(f"  > {played.sent or '(no text)'}")
        for reply in played.replies:
            lines.append("  < " + reply.replace("\n", "\n    "))
        lines.extend(f"  ! {failure}" for failure in played.failures)
        lines.extend(f"  !! {wrong}" for wrong in played.wrong)
    if result.entry.note:
        lines.append(f"  note: {result.entry.note}")
    return "\n".join(lines)
