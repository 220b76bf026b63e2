"""Taps read by their id, exactly, before any text: the webhook's fields into ``Inbound.tap``,
and the runtime's reading of a tap against the question the session waits on."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.datastructures import ImmutableMultiDict

from engine.channels.twilio.inbound import read_delivery
from engine.loading.pipeline import load_flows
from engine.model.inbound import Inbound
from engine.model.session import Session
from engine.runtime.flows import Flows
from engine.runtime.handle import handle
from tests.conftest import at

ROOT = Path(__file__).resolve().parent.parent
ANA = "+5215512345678"
LUNCH = at("2026-11-27 14:00")


def delivery(**fields: str) -> Inbound:
    return read_delivery(ImmutableMultiDict({"From": "whatsapp:" + ANA, "MessageSid": "SM" + "1" * 32, **fields})).inbound


def test_a_button_and_a_list_pick_come_in_as_their_ids() -> None:
    button = delivery(Body="Harina (+$3)", ButtonText="Harina (+$3)", ButtonPayload="pedir:tortilla:harina")
    assert (button.tap, button.text) == ("pedir:tortilla:harina", "Harina (+$3)")
    picked = delivery(ListId="pago:tarjeta", ListTitle="Tarjeta")  # no Body: the title stands in
    assert (picked.tap, picked.text) == ("pago:tarjeta", "Tarjeta")
    assert delivery(Body="harina").tap is None


def talk(flows: Flows, *messages: tuple[str, str | None]) -> tuple[Session | None, list[tuple[str, ...]]]:
    session, answers = None, []
    for text, tap in messages:
        outcome = handle(flows, session, Inbound(ANA, text, tap=tap), LUNCH)
        session = outcome.session
        answers.append(outcome.replies)
    return session, answers


def test_a_tap_answers_exactly_whatever_its_title_says(flows: Flows) -> None:
    session, _ = talk(flows, ("hola", None), ("3 pastor", None), ("algo que no se entiende", "pedir:tortilla:harina"))
    assert session is not None and session.pending[0].options == {"tortilla": "harina"}


def test_a_tap_of_an_earlier_question_is_asked_again_and_does_nothing(flows: Flows) -> None:
    before, _ = talk(flows, ("hola", None), ("3 pastor", None), ("Harina", "pedir:tortilla:harina"))
    after = handle(flows, before, Inbound(ANA, "Maíz", tap="pedir:tortilla:maiz"), LUNCH)
    assert after.replies[0].startswith("Ese botón era de un mensaje anterior")
    assert after.replies[1].startswith("¿Cómo los preparamos?")  # the question asked now, again
    assert before is not None and after.session.pending == before.pending and after.effects == ()


def test_a_payload_that_is_no_tap_of_ours_is_read_as_typed(flows: Flows) -> None:
    session, _ = talk(flows, ("hola", None), ("3 pastor", None), ("harina", "PROMO-2X1"))
    assert session is not None and session.pending[0].options == {"tortilla": "harina"}


@pytest.mark.parametrize("tap", ["confirmar:yes", "confirmar:no"])
def test_the_confirmation_by_tap(flows: Flows, tap: str) -> None:
    typed = [("hola", None), ("3 pastor", None), ("harina", None), ("sin cebolla", None), ("listo", None), ("1", None),
             ("Ana", None), ("este", None), ("efectivo", None)]
    outcome = handle(flows, talk(flows, *typed)[0], Inbound(ANA, "?", tap=tap), LUNCH)
    assert any(type(e).__name__ == "SaveOrder" for e in outcome.effects) is tap.endswith("yes")


def test_nonna_rosa_asks_again_in_english() -> None:
    nonna = load_flows(ROOT / "examples" / "nonna-rosa" / "flows")
    outcome = handle(nonna, None, Inbound("+15551234567", "Yes", tap="confirm:yes"), LUNCH)
    assert outcome.replies[0] == "That button was from an earlier message 🙂 Let me ask again:"
