
from __future__ import annotations

import dataclasses
from datetime import timedelta

from engine.languages.en import EN
from engine.languages.es import ES
from engine.loading.build import build_words
from engine.model.effects import (
    ForwardToAdmin,
    HandOver,
    NotifyAdmin,
    OptIn,
    OptOut,
    ReportError,
    SaveOrder,
)
from engine.model.inbound import Inbound
from engine.model.session import Line, Session, Which
from engine.runtime.handle import handle
from engine.testing.conversations import Conversation
from tests.conftest import at

CUSTOMER = "+525512345678"
FULL_ORDER = ["hola", "3 pastor", "harina", "sin cebolla", "3 horchatas", "listo", "2", "Ana", "Calle Roma 12, Col. Roma",
              "este", "tarjeta"]


def talk(flows, *messages, when="2026-11-27 14:00"):
    conversation = Conversation(flows, CUSTOMER, at(when))
    outcomes = [conversation.send(m) for m in messages]
    return conversation, outcomes


def test_same_inputs_same_outcome(flows):
    """Pure: nothing but the arguments decides the answer."""
    inbound = Inbound(CUSTOMER, "3 pastor")
    first = handle(flows, None, inbound, at("2026-11-27 14:00"))
    second = handle(flows, None, inbound, at("2026-11-27 14:00"))
    assert first == second


def test_a_whole_order_keeps_the_session_small(flows):
    conversation, _ = talk(flows, *FULL_ORDER)
    serialised = conversation.session.to_json()
    assert conversation.session.step == "confirmar"
    assert len(serialised.encode()) < 1024
    assert Session.from_json(serialised) == conversation.session


def test_confirmed_order_has_exact_money_and_a_unique_key(flows):
    conversation, _ = talk(flows, *FULL_ORDER)
    outcome = conversation.send("sí")
    order = outcome.order
    assert order is not None
    assert (order.subtotal, order.delivery_fee, order.total) == (165, 30, 195)
    assert [(l.item_id, l.quantity, l.unit_price, l.total) for l in order.lines] == [("pastor", 3, 25, 75), ("horchata", 3, 30, 90)]
    assert all(isinstance(v, int) for v in (order.subtotal, order.delivery_fee, order.total))
    assert "#1001" in outcome.replies[0]
    assert any(isinstance(e, NotifyAdmin) and "#1001" in e.text for e in outcome.effects)
    assert conversation.session.cart == ()


def test_a_retried_message_builds_the_same_order_key(flows):
    conversation, _ = talk(flows, *FULL_ORDER)
    before = conversation.session
    inbound = Inbound(CUSTOMER, "sí")
    first = handle(flows, before, inbound, conversation.now)
    again = handle(flows, before, inbound, conversation.now + timedelta(seconds=20))
    assert first.order.key == again.order.key


def test_what_the_customer_types_is_never_a_template(flows):
    conversation, _ = talk(flows, "hola", "3 pastor", "harina", "sin cebolla", "listo", "1")
    conversation.send("{{ 7 * 7 }} {% for x in range(3) %}x{% endfor %}")
    outcome = conversation.send("este")
    assert conversation.session.answers["name"].startswith("{{ 7 * 7 }}")
    outcome = conversation.send("efectivo")
    assert "{{ 7 * 7 }}" in outcome.replies[0]
    assert "49" not in outcome.replies[0]


def test_expired_session_with_a_cart_offers_it_back(flows):
    conversation, _ = talk(flows, "2 suadero", "maiz", "con todo")
    conversation.wait(timedelta(minutes=31))
    outcome = conversation.send("hola")
    assert "¿Retomamos tu pedido?" in outcome.replies[0]
    assert "2 × Taco de suadero (maíz)" in outcome.replies[0]
    assert conversation.session.cart == (Line("suadero", 2, {"tortilla": "maiz", "preparacion": "con_todo"}),)


def test_a_session_from_other_flows_keeps_only_known_items(flows):
    old = Session(flows_hash="other", step="pedir", cart=(Line("pastor", 2, {"tortilla": "maiz"}), Line("pozole", 1)),
                  started=1, last_seen=int(at("2026-11-27 14:00").timestamp()))
    outcome = handle(flows, old, Inbound(CUSTOMER, "carrito"), at("2026-11-27 14:05"))
    assert [line.item for line in outcome.session.cart] == ["pastor"]
    assert outcome.session.flows_hash == flows.hash


def test_a_conversation_sent_through_the_outbox_keeps_saying_so_until_it_ends(flows):
    conversation, _ = talk(flows, "hola", "3 pastor")
    queued = conversation.session.evolve(queued=True)  # the service marks it (engine.service.buttons)
    assert '"queued":true' in queued.to_json() and Session.from_json(queued.to_json()) == queued
    assert '"queued"' not in conversation.session.to_json()  # left out while false
    later = handle(flows, queued, Inbound(CUSTOMER, "harina"), at("2026-11-27 14:05"))
    assert later.session.queued  # the same conversation goes on
    after_a_day = handle(flows, queued, Inbound(CUSTOMER, "hola"), at("2026-11-28 14:00"))
    assert not after_a_day.session.queued  # a new conversation starts without it


def test_unreadable_session_starts_over(flows):
    assert Session.from_json("{not json") is None
    assert Session.from_json('{"version": 99}') is None


def test_handover_keeps_the_bot_quiet_then_forwards(flows):
    conversation, outcomes = talk(flows, "hola", "hablar con alguien")
    assert any(isinstance(e, HandOver) for e in outcomes[-1].effects)
    quiet = conversation.send("¿me ayudas con algo?")
    assert quiet.replies == ()
    assert quiet.effects == (ForwardToAdmin(CUSTOMER, "¿me ayudas con algo?"),)
    conversation.wait(timedelta(minutes=61))
    assert conversation.send("hola").replies


def test_a_broken_template_apologises_and_reports(flows):
    broken = dataclasses.replace(flows, messages={**flows.messages, "welcome": "Hola {{ cliente.nombre }}"})
    outcome = handle(broken, None, Inbound(CUSTOMER, "hola"), at("2026-11-27 14:00"))
    assert "algo falló" in outcome.replies[0]
    assert any(isinstance(e, ReportError) and "cliente" in e.what for e in outcome.effects)


def test_when_even_the_error_message_breaks_the_apology_is_the_language_s(flows):
    broken = dataclasses.replace(
        flows, messages={**flows.messages, "welcome": "{{ cliente.nombre }}", "error": "{{ tampoco }}"}
    )
    outcome = handle(broken, None, Inbound(CUSTOMER, "hola"), at("2026-11-27 14:00"))
    assert outcome.replies == (flows.restaurant.language.apology,)
    assert outcome.replies[0].startswith("Perdón, algo falló")
    english = dataclasses.replace(broken, restaurant=dataclasses.replace(flows.restaurant, language=EN))
    assert handle(english, None, Inbound(CUSTOMER, "hi"), at("2026-11-27 14:00")).replies == (EN.apology,)


def test_the_restaurant_s_language_decides_what_is_understood(flows):
    """The same flows, told they speak English: "two" is a number and "that's all" finishes."""
    english = dataclasses.replace(
        flows, restaurant=dataclasses.replace(flows.restaurant, words=build_words(dataclasses.replace(EN, filler=ES.filler)))
    )
    conversation = Conversation(english, CUSTOMER, at("2026-11-27 14:00"))
    conversation.send("hola")
    assert "¿Cuántos tacos de suadero" in conversation.send("suadero").replies[0]
    conversation.send("two")
    conversation.send("maíz")
    assert "Agregué 2 × Taco de suadero (maíz)" in conversation.send("👍").replies[0]
    assert "¿Cómo lo quieres?" in conversation.send("that's all").replies[0]
    plain_spanish = dataclasses.replace(
        flows, restaurant=dataclasses.replace(flows.restaurant, words=build_words(ES))
    )  # El Rinconcito's own words add a few English ones for visitors; Spanish's do not
    spanish = Conversation(plain_spanish, CUSTOMER, at("2026-11-27 14:00"))
    spanish.send("hola")
    assert "no encontré" in spanish.send("that's all").replies[0]


def test_odd_messages_never_raise(flows):
    conversation = Conversation(flows, CUSTOMER, at("2026-11-27 14:00"))
    for text in ["", " ", "🌮🌮🌮", "x" * 10_000, "0 pastor", "-3 pastor", "999999999 pastor", "\u0000", "quitar", "listo"]:
        outcome = conversation.send(text)
        assert outcome.replies, text
        assert not any(isinstance(e, ReportError) for e in outcome.effects), text


def test_first_message_naming_an_item_orders_it(flows):
    _, (outcome,) = talk(flows, "3 pastor")
    assert "Bienvenido" in outcome.replies[0]
    assert "¿Tortilla de maíz o de harina?" in outcome.replies[-1]
    assert not any("¿Qué te sirvo?" in r for r in outcome.replies)


def test_no_save_order_effect_until_confirmed(flows):
    _, outcomes = talk(flows, *FULL_ORDER)
    assert not any(isinstance(e, SaveOrder) for o in outcomes for e in o.effects)


def test_a_second_order_in_the_same_conversation_is_a_new_order(flows):
    conversation, outcomes = talk(flows, *FULL_ORDER, "sí", "2 horchatas", "listo", "1", "Ana", "este", "efectivo")
    first = outcomes[-7].order
    second = conversation.send("sí")
    assert first is not None and second.order is not None
    assert second.order.key != first.key
    assert "#1002" in second.replies[0]


def test_what_a_turn_remembers_for_the_next_one_survives_storing(flows):
    """A which-one question, answers given ahead, the line last touched, a pending "that's all"."""
    conversation, _ = talk(flows, "hola", "2 de pastor y es todo")
    assert conversation.session.finishing
    conversation.send("una quesadilla")
    session = conversation.session
    assert session.which == Which("add", ("quesadilla_queso", "quesadilla_champi"), 1, None, (), {})
    assert Session.from_json(session.to_json()) == session
    conversation, _ = talk(flows, "hola", "1 gringa", "listo, paso por ella")
    assert conversation.session.ahead == () and conversation.session.answers["fulfilment"] == "pickup"
    assert conversation.session.last == Line("gringa", None, {})
    assert Session.from_json(conversation.session.to_json()) == conversation.session


def test_a_session_stored_by_the_previous_format_is_still_read():
    stored = '{"flows_hash":"h","step":"pedir","cart":[["pastor",3,{"tortilla":"maiz"}]],"version":1}'
    session = Session.from_json(stored)
    assert session is not None and session.cart == (Line("pastor", 3, {"tortilla": "maiz"}),)
    assert (session.which, session.ahead, session.version) == (None, (), 2)


def test_opting_out_ends_the_conversation_and_says_so_to_the_service(flows):
    conversation, outcomes = talk(flows, "3 pastor maíz con todo", "listo", "STOP")
    assert OptOut(CUSTOMER) in outcomes[-1].effects
    assert conversation.session.step is None and conversation.session.cart == ()
    assert not any(isinstance(e, OptIn) for o in outcomes for e in o.effects)  # no mark: nothing to lift


def test_a_customer_the_service_marked_lifts_the_mark_by_writing(flows):
    outcome = handle(flows, None, Inbound(CUSTOMER, "hola", opted_out=True), at("2026-11-27 14:00"))
    assert OptIn(CUSTOMER) in outcome.effects
    again = handle(flows, None, Inbound(CUSTOMER, "stop", opted_out=True), at("2026-11-27 14:00"))
    assert OptOut(CUSTOMER) in again.effects and OptIn(CUSTOMER) not in again.effects


def test_a_pickup_order_keeps_no_address_from_an_earlier_delivery_answer(flows):
    conversation, outcomes = talk(
        flows, "7 pastor maíz con todo", "listo", "a domicilio", "Ana", "Calle Roma 12, Col. Roma", "este",
        "efectivo", "sí, pero mejor paso yo", "sí",
    )
    order = outcomes[-1].order
    assert order is not None and (order.fulfilment, order.address, order.location) == ("pickup", None, None)


def test_media_without_words_changes_nothing(flows):
    conversation, _ = talk(flows, "3 pastor")
    before = conversation.session
    outcome = conversation.send("", media=1)
    assert outcome.session.evolve(last_seen=0) == before.evolve(last_seen=0)
    assert any("solo puedo leer texto" in r for r in outcome.replies)
