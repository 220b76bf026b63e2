"""What each question offers: none, buttons or a list, with stable tap ids and the flows' titles."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from engine.loading.pipeline import load_flows
from engine.model.steps import ChoiceStep
from engine.runtime.choices_view import (
    LIST_BUTTON,
    MAX_BUTTONS,
    MAX_LIST_ITEMS,
    TAP_ID_LIMIT,
    Tap,
    kind_for,
    offer_for,
    offer_waiting,
    offers,
    option_offer,
    parse_tap,
    step_offer,
)
from engine.runtime.flows import Flows
from engine.testing.conversations import Conversation
from tests.conftest import at

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def nonna() -> Flows:
    return load_flows(ROOT / "examples" / "nonna-rosa" / "flows")


@pytest.mark.parametrize(
    ("count", "enabled", "kind"),
    [(0, True, "none"), (1, True, "buttons"), (3, True, "buttons"), (4, True, "list"), (10, True, "list"),
     (11, True, "none"), (2, False, "none"), (7, False, "none")],
)
def test_up_to_three_are_buttons_up_to_ten_a_list(count: int, enabled: bool, kind: str) -> None:
    assert kind_for(count, enabled) == kind
    assert (MAX_BUTTONS, MAX_LIST_ITEMS) == (3, 10)


def test_every_question_of_el_rinconcito(flows: Flows) -> None:
    found = {offer.key: offer.kind for offer in offers(flows)}
    assert found == {
        "retomar": "buttons", "pedir:tortilla": "buttons", "pedir:preparacion": "buttons", "pedir:sabor": "buttons",
        "entrega": "buttons", "minimo": "buttons", "pago": "buttons", "confirmar": "buttons", "corregir": "list",
        "seguro_cancelar": "buttons",
    }


def test_a_choice_step_offers_its_choices_with_stable_ids(flows: Flows) -> None:
    offer = step_offer(flows, flows.order.steps["pago"])
    assert offer is not None and offer.message == "ask_payment" and offer.group is None
    assert [(o.tap, o.value, o.title) for o in offer.options] == [
        ("pago:efectivo", "efectivo", "Efectivo"), ("pago:tarjeta", "tarjeta", "Tarjeta"),
        ("pago:transferencia", "transferencia", "Transferencia"),
    ]
    assert offer.option_for("pago:tarjeta") is offer.options[1]
    assert offer.option_for("entrega:pickup") is None  # another question's tap
    assert offer.option_for("Tarjeta") is None  # typed text is no tap


def test_a_confirm_step_offers_the_languages_yes_and_no(flows: Flows, nonna: Flows) -> None:
    es = step_offer(flows, flows.order.steps["confirmar"])
    en = step_offer(nonna, nonna.order.steps["confirm"])
    assert es is not None and en is not None
    assert [(o.tap, o.title) for o in es.options] == [("confirmar:yes", "Sí"), ("confirmar:no", "No")]
    assert [o.title for o in en.options] == ["Yes", "No"]
    written = replace(flows.order.steps["confirmar"], yes_title="Sí, confirmo")  # type: ignore[type-var]
    offer = step_offer(flows, written)
    assert offer is not None and offer.options[0].title == "Sí, confirmo"


def test_steps_that_ask_no_choice_offer_nothing(flows: Flows) -> None:
    for step_id in ("pedir", "nombre", "contacto", "hecho"):
        assert step_offer(flows, flows.order.steps[step_id]) is None


def test_a_list_opens_with_the_languages_button(flows: Flows, nonna: Flows) -> None:
    es, en = offer_for(flows, "corregir"), offer_for(nonna, "change")
    assert es is not None and en is not None
    assert (es.kind, es.list_button, en.list_button) == ("list", LIST_BUTTON["es"], LIST_BUTTON["en"])
    assert max(len(text) for text in LIST_BUTTON.values()) <= 20  # WhatsApp's list button holds 20


def test_a_title_from_the_flows_replaces_the_name_on_the_button(nonna: Flows) -> None:
    offer = offer_for(nonna, "payment")
    assert offer is not None
    assert [o.title for o in offer.options] == ["Card", "Cash", "Apple or Google Pay"]


def test_an_option_groups_titles_carry_the_items_extra_price(flows: Flows) -> None:
    tortilla = flows.menu.options["tortilla"]
    pastor = option_offer(flows, "pedir", tortilla, flows.menu.items["pastor"])
    orden = option_offer(flows, "pedir", tortilla, flows.menu.items["orden_pastor"])
    template = option_offer(flows, "pedir", tortilla)
    assert [o.title for o in pastor.options] == ["Maíz", "Harina (+$3)"]
    assert [o.title for o in orden.options] == ["Maíz", "Harina (+$15)"]
    assert [o.title for o in template.options] == ["Maíz", "Harina (+$15)"]  # the longest, for checks
    assert [o.varies for o in template.options] == [False, True]
    assert [o.tap for o in pastor.options] == ["pedir:tortilla:maiz", "pedir:tortilla:harina"]
    assert pastor.message == "ask_option" and pastor.key == "pedir:tortilla"


def test_an_option_group_without_extra_prices_does_not_vary(nonna: Flows) -> None:
    dressing = offer_for(nonna, "items:dressing")
    size = offer_for(nonna, "items:size", nonna.menu.items["formaggi"])
    assert dressing is not None and size is not None
    assert not any(o.varies for o in dressing.options)
    assert [o.title for o in size.options] == ["Small", "Medium (+$3.50)", "Large (+$7.00)"]


def test_a_group_not_asked_offers_nothing(nonna: Flows) -> None:
    assert "items:crust" not in {offer.key for offer in offers(nonna)}  # ask: false


def test_buttons_false_keeps_the_question_as_text(flows: Flows) -> None:
    step = replace(flows.order.steps["pago"], buttons=False)  # type: ignore[type-var]
    offer = step_offer(flows, step)
    assert offer is not None and (offer.kind, offer.turned_off) == ("none", True)


def test_a_tap_id_taken_apart() -> None:
    assert parse_tap("pago:tarjeta") == Tap("pago", None, "tarjeta")
    assert parse_tap("pedir:tortilla:harina") == Tap("pedir", "tortilla", "harina")
    assert parse_tap("pedir:tortilla:harina").key == "pedir:tortilla"  # type: ignore[union-attr]
    for text in ("Tarjeta", "pago", "pago:", ":tarjeta", "a:b:c:d", "Pago:tarjeta", "pago:tarjeta ", "pago:tárjeta"):
        assert parse_tap(text) is None, text


def test_offer_for_an_unknown_question_is_none(flows: Flows) -> None:
    assert offer_for(flows, "no_such_step") is None
    assert offer_for(flows, "pedir:no_such_group") is None
    assert offer_for(flows, "pago:tortilla") is None  # a group asked by no order step


def test_every_tap_id_is_unique_and_fits(flows: Flows, nonna: Flows) -> None:
    for each in (flows, nonna):
        taps = [option.tap for offer in offers(each) for option in offer.options]
        assert len(taps) == len(set(taps))
        assert all(len(tap) <= TAP_ID_LIMIT for tap in taps)
        assert all(parse_tap(tap) is not None for tap in taps)


def test_a_button_title_is_understood_when_typed(nonna: Flows) -> None:
    # A tap also sends the title as text: whoever reads the text understands it as the option.
    step = nonna.order.steps["payment"]
    assert isinstance(step, ChoiceStep)
    phone = next(c for c in step.choices if c.id == "phone")
    assert "apple or google pay" in phone.words
    group = nonna.menu.options["size"]
    assert all(choice.title is None for choice in group.choices)  # nothing added where none is written


def test_the_question_a_session_waits_on_is_the_one_just_asked(flows: Flows) -> None:
    talk = Conversation(flows, "+525512345678", at("2026-11-27 14:00"))
    steps = [
        ("hola", None), ("3 pastor", "pedir:tortilla"), ("harina", "pedir:preparacion"), ("sin cebolla", None),
        ("3 horchatas", None), ("listo", "entrega"), ("2", None), ("Ana", None), ("Calle Roma 12, Col. Roma", None),
        ("este", "pago"), ("tarjeta", "confirmar"),
    ]
    for text, key in steps:
        outcome = talk.send(text)
        offer = offer_waiting(flows, talk.session)
        assert (offer.key if offer else None) == key, text
        if offer is not None:  # the buttons go with the message that asks: the turn's last reply
            group = flows.menu.options[offer.group] if offer.group else None
            asking = group.question if group else flows.messages[offer.message].splitlines()[0]
            assert asking and asking in outcome.replies[-1], (text, asking, outcome.replies)
    tortilla = Conversation(flows, "+525512345679", at("2026-11-27 14:00"))
    tortilla.send("hola")
    asked = tortilla.send("2 orden de pastor")
    offer = offer_waiting(flows, tortilla.session)
    assert offer is not None and [o.title for o in offer.options] == ["Maíz", "Harina (+$15)"]
    assert "¿Tortilla de maíz o de harina?" in asked.replies[-1]


def test_a_tap_of_another_question_answers_nothing_now(flows: Flows) -> None:
    talk = Conversation(flows, "+525512345678", at("2026-11-27 14:00"))
    for text in ("hola", "3 horchatas", "listo"):
        talk.send(text)
    waiting = offer_waiting(flows, talk.session)
    assert waiting is not None and waiting.key == "entrega"
    assert waiting.option_for("entrega:pickup") is not None
    assert waiting.option_for("pago:tarjeta") is None  # an old message's button: re-ask, never act
    assert waiting.option_for("pedir:tortilla:harina") is None
