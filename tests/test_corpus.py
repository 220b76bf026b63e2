"""The understanding corpus (tests/corpus/): the runner's verdicts, and the floor today's bot meets.

The floor is not the goal. It records where the bot stands so that any change shows: fewer
entries understood fails here, and so does any change to the list of silent wrong actions (a new
one is a regression; one that went away is an improvement to write down by removing it below).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.model.effects import Outcome
from engine.model.session import Line, Session
from engine.runtime.flows import Flows
from engine.testing.corpus import (
    KINDS,
    Corpus,
    CorpusError,
    Entry,
    Expect,
    LineSpec,
    Setup,
    SetupBroken,
    State,
    CorpusMessage,
    Verdict,
    judge,
    load_corpus,
    play,
    play_all,
    tally,
    unasked_changes,
)
from tests.conftest import ROOT

CORPUS = ROOT / "tests" / "corpus"

# Today's figures: the target the issue sets ("Talk like a good cashier") is met, at least 95 % of
# the corpus understood (here all of it) and no silent wrong action; a change that loses an entry
# or makes a silent wrong action fails here.
UNDERSTOOD_FLOOR = 487
SILENT_WRONG_TODAY: frozenset[str] = frozenset()


@pytest.fixture(scope="module")
def corpus(flows: Flows) -> Corpus:
    return load_corpus(CORPUS, flows)


# ---------------------------------------------------------------- the corpus itself


def test_the_corpus_holds_every_kind_and_enough_real_messages(corpus: Corpus) -> None:
    kinds = {entry.kind for entry in corpus.entries}
    assert kinds == set(KINDS)
    natural = [entry for entry in corpus.entries if entry.kind != "scripted"]
    assert len(natural) >= 320
    assert any(entry.guard for entry in corpus.entries) and any(not entry.guard for entry in corpus.entries)


def test_every_setup_still_reaches_its_step(flows: Flows, corpus: Corpus) -> None:
    for setup in corpus.setups.values():
        probe = Entry("probe", "scripted", "setups.yaml", 1, setup.name, (), (CorpusMessage("menú", Expect(asked=True)),), False)
        play(flows, corpus, probe)  # raises SetupBroken otherwise


def test_the_scripted_answers_are_all_understood(flows: Flows, corpus: Corpus) -> None:
    scripted = [entry for entry in corpus.entries if entry.kind == "scripted"]
    lost = [r.entry.id for r in (play(flows, corpus, e) for e in scripted) if r.verdict is not Verdict.UNDERSTOOD]
    assert lost == []


def test_today_the_bot_meets_the_floor_and_its_silent_wrong_actions_are_the_recorded_ones(
    flows: Flows, corpus: Corpus
) -> None:
    results = play_all(flows, corpus)
    _, total = tally(results)
    silent = {r.entry.id for r in results if r.verdict is Verdict.SILENT_WRONG}
    assert total.understood >= UNDERSTOOD_FLOOR, f"understood {total.understood}, the floor is {UNDERSTOOD_FLOOR}"
    assert total.understood >= 0.95 * total.entries, "the issue's target: 95 % of the corpus understood"
    assert sorted(silent - SILENT_WRONG_TODAY) == [], "new silent wrong actions"
    assert sorted(SILENT_WRONG_TODAY - silent) == [], "gone (good): remove them from SILENT_WRONG_TODAY"


# ---------------------------------------------------------------- the runner's verdicts


def entry(setup: str | None, send: str, expect: Expect, *then: CorpusMessage, guard: bool = True) -> Entry:
    return Entry("hand-made", "scripted", "test", 1, setup, (), (CorpusMessage(send, expect), *then), guard)


def verdict(flows: Flows, corpus: Corpus, made: Entry) -> Verdict:
    return play(flows, corpus, made).verdict


def test_what_the_bot_did_as_expected_is_understood(flows: Flows, corpus: Corpus) -> None:
    added = entry("pedir", "2 horchatas", Expect(cart=(LineSpec("horchata", 2, ()),)))
    placed = entry("confirmar", "sí", Expect(step=("end",), placed=True))
    shown = entry("pedir_3_pastor", "carrito", Expect(asked=True, shows=("cart",)))
    assert verdict(flows, corpus, added) is Verdict.UNDERSTOOD
    assert verdict(flows, corpus, placed) is Verdict.UNDERSTOOD
    assert verdict(flows, corpus, shown) is Verdict.UNDERSTOOD


def test_not_doing_what_was_meant_and_changing_nothing_is_not_understood(flows: Flows, corpus: Corpus) -> None:
    # "carrito" shows the cart and stays: expecting the fulfilment question is not met.
    result = play(flows, corpus, entry("pedir_3_pastor", "carrito", Expect(step=("entrega",))))
    assert result.verdict is Verdict.NOT_UNDERSTOOD
    assert result.failures == ("step pedir, expected entrega",)
    assert result.wrong == ()


def test_a_change_that_is_neither_the_old_state_nor_the_expected_one_is_a_silent_wrong_action(
    flows: Flows, corpus: Corpus
) -> None:
    wrong_quantity = entry("pedir", "2 horchatas", Expect(cart=(LineSpec("horchata", 3, ()),)))
    placed_instead = entry("confirmar", "sí", Expect(asked=True))
    result = play(flows, corpus, wrong_quantity)
    assert result.verdict is Verdict.SILENT_WRONG
    assert result.wrong == ("cart became [2 horchata]",)
    assert verdict(flows, corpus, placed_instead) is Verdict.SILENT_WRONG
    # Without the guard the same miss only counts as not understood.
    unguarded = entry("confirmar", "sí", Expect(asked=True), guard=False)
    assert verdict(flows, corpus, unguarded) is Verdict.NOT_UNDERSTOOD


def test_a_follow_up_turn_must_be_understood_too(flows: Flows, corpus: Corpus) -> None:
    good = entry(
        "tortilla_pastor", "harina", Expect(pending=(LineSpec("pastor", 3, ("harina",)),)),
        CorpusMessage("sin cebolla", Expect(cart=(LineSpec("pastor", 3, ("harina", "sin_cebolla")),), pending=())),
    )
    bad = entry(
        "tortilla_pastor", "harina", Expect(pending=(LineSpec("pastor", 3, ("harina",)),)),
        CorpusMessage("sin cebolla", Expect(cart=(LineSpec("pastor", 3, ("maiz",)),), pending=())),
        CorpusMessage("listo", Expect(step=("entrega",))),
    )
    assert verdict(flows, corpus, good) is Verdict.UNDERSTOOD
    result = play(flows, corpus, bad)
    assert result.verdict is Verdict.SILENT_WRONG
    assert [p.sent for p in result.turns] == ["harina", "sin cebolla"]  # stops at the first miss


def test_a_setup_that_no_longer_reaches_its_step_is_an_error_not_a_verdict(flows: Flows) -> None:
    moved = Corpus({"x": Setup("x", ("hola",), "entrega")}, ())
    with pytest.raises(SetupBroken, match="setup 'x' ends at step 'pedir', not 'entrega'"):
        play(flows, moved, entry("x", "listo", Expect(asked=True)))


# ---------------------------------------------------------------- judging one turn, on made-up states

PASTOR = Line("pastor", 3, {"tortilla": "maiz", "preparacion": "con_todo"})


def state(step: str = "pedir", cart: tuple[Line, ...] = (), pending: tuple[Line, ...] = (), **answers: str) -> State:
    return State(step, cart, pending, dict(answers))


def said(*replies: str) -> Outcome:
    return Outcome(Session(flows_hash="x"), replies)


def no_render(key: str) -> str:
    return f"<{key}>"


def test_facts_count_only_when_the_bot_says_them_not_when_it_echoes_the_customer() -> None:
    expect = Expect(asked=True, tells=(("tarjeta",),))
    echoed = said('Mmm, no encontré "¿aceptan tarjeta?" en el menú')
    answered = said("Sí, aceptamos tarjeta 💳")
    assert judge(expect, "¿aceptan tarjeta?", state(), state(), echoed, no_render) == ("did not tell tarjeta",)
    assert judge(expect, "¿aceptan tarjeta?", state(), state(), answered, no_render) == ()


def test_asked_means_the_bot_said_something_and_nothing_changed() -> None:
    expect = Expect(asked=True)
    assert judge(expect, "x", state(), state(), said(), no_render) == ("the bot said nothing",)
    moved = judge(expect, "x", state(), state(step="entrega"), said("¿Cómo lo quieres?"), no_render)
    assert moved == ("step entrega, expected pedir",)
    saved = judge(expect, "x", state(step="nombre"), state(step="nombre", name="x"), said("?"), no_render)
    assert saved == ("answer name = 'x', expected None",)


def test_a_wrong_answer_saved_is_an_unasked_change_and_a_question_asked_is_not() -> None:
    expect = Expect(asked=True, tells=(("$30",),))
    before = state(step="entrega", cart=(PASTOR,))
    chose = state(step="minimo", cart=(PASTOR,), fulfilment="delivery")
    assert unasked_changes(expect, before, chose, said()) == ("answer fulfilment became 'delivery'",)
    asking = state(step="pedir", pending=(Line("gringa"),))  # "¿Cuántas gringas?" after "¿qué lleva la gringa?"
    assert unasked_changes(Expect(asked=True), state(), asking, said()) == ()


def test_a_pending_line_is_judged_by_what_it_will_add_up_to() -> None:
    before = state(cart=(PASTOR,))
    # "2 más de pastor": a new line of 2 that will join the 3 in the cart: 5, as meant.
    more = state(cart=(PASTOR,), pending=(Line("pastor", 2),))
    assert unasked_changes(Expect(cart=(LineSpec("pastor", 5, ("maiz",)),)), before, more, said()) == ()
    # "mejor 2 de pastor": the same line, but 2 was meant in all: it will make 5.
    assert unasked_changes(Expect(cart=(LineSpec("pastor", 2, ("maiz",)),)), before, more, said()) == (
        "pending became [2 pastor]",
    )
    # "la orden de 5": five orders decided, one was meant.
    orders = state(pending=(Line("orden_pastor", 5),))
    assert unasked_changes(Expect(pending=(LineSpec("orden_pastor", 1, ()),)), state(), orders, said()) == (
        "pending became [5 orden_pastor]",
    )
    # A choice taken towards what was meant is progress, not a wrong decision.
    halfway = state(pending=(Line("pastor", 3, {"tortilla": "harina"}),))
    meant = Expect(cart=(LineSpec("pastor", 3, ("harina", "sin_cebolla")),), pending=())
    assert unasked_changes(meant, state(pending=(Line("pastor", 3),)), halfway, said()) == ()


# ---------------------------------------------------------------- reading the files


def write(directory: Path, entries: str, setups: str = "setups:\n  pedir: {say: [hola], step: pedir}\n") -> Path:
    directory.mkdir(exist_ok=True)
    (directory / "setups.yaml").write_text(setups, encoding="utf-8")
    (directory / "some.yaml").write_text(entries, encoding="utf-8")
    return directory


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ("kind: edits\nentries:\n  - {at: pedir, send: x, expect: {cart: ['2 tamal']}}\n", "some.yaml:3: no item 'tamal' on the menu"),
        ("kind: edits\nentries:\n  - {at: pedir, send: x, expect: {cart: ['2 pastor light']}}\n", "some.yaml:3: 'light' is not an option of pastor"),
        ("kind: edits\nentries:\n  - {at: pedir, send: x, expect: {step: pagar}}\n", "some.yaml:3: no step 'pagar' in the flows"),
        ("kind: edits\nentries:\n  - {at: cocina, send: x, expect: {asked: true}}\n", "some.yaml:3: no setup 'cocina'"),
        ("kind: edits\nentries:\n  - {at: pedir, send: x, expect: {asked: true, step: pedir}}\n", "some.yaml:3: asked means nothing changes"),
        ("kind: edits\nentries:\n  - {at: pedir, send: x, expect: {pending: ['? pastor'], cart: ['? pastor']}}\n", "'?' is not a quantity"),
        ("kind: chatter\nentries: []\n", "some.yaml:1: kind is one of"),
        ("kind: edits\nentries:\n  - {at: pedir, send: x}\n", "some.yaml:3: every turn has 'expect'"),
        ("kind: edits\nentries:\n  - {at: pedir, send: x, expect: {asked: true}}\n  - {at: pedir, send: x, expect: {step: entrega}}\n", "entries written twice: edits: pedir | x"),
    ],
)
def test_a_mistake_in_a_corpus_file_says_where_and_what(flows: Flows, tmp_path: Path, entries: str, problem: str) -> None:
    with pytest.raises(CorpusError, match=problem.replace("?", r"\?").replace("[", r"\[")):
        load_corpus(write(tmp_path / "corpus", entries), flows)


def test_no_and_si_stay_words_in_corpus_files(flows: Flows, tmp_path: Path) -> None:
    loaded = load_corpus(write(tmp_path / "corpus", "kind: confirmation\nentries:\n  - {at: pedir, send: no, expect: {asked: true}}\n"), flows)
    assert loaded.entries[0].turns[0].send == "no"
