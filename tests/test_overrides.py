from __future__ import annotations

from engine.model.inbound import Inbound
from engine.runtime.handle import handle
from engine.runtime.hours import taking_orders
from engine.runtime.overrides import NO_OVERRIDES, Overrides
from engine.testing.conversations import Conversation
from tests.conftest import at

CUSTOMER = "+525512345678"


def test_closing_by_hand_lasts_until_the_scheduled_cutoff(flows):
    now = at("2026-11-27 14:00")  # Friday, open until 01:00 (last orders 00:40)
    closed = NO_OVERRIDES.force(False, flows.hours, now)
    assert not closed.taking_orders(flows.hours, now)
    assert not closed.taking_orders(flows.hours, at("2026-11-28 00:39"))
    # The override ends where the schedule changes by itself; from then on the hours decide.
    assert closed.until == int(at("2026-11-28 00:40").timestamp())
    assert closed.taking_orders(flows.hours, at("2026-11-28 13:00"))


def test_opening_by_hand_on_a_closed_monday_lasts_until_tuesday(flows):
    monday = at("2026-11-30 12:00")
    assert not taking_orders(flows.hours, monday)
    opened = NO_OVERRIDES.force(True, flows.hours, monday)
    assert opened.taking_orders(flows.hours, at("2026-11-30 22:00"))
    assert opened.until == int(at("2026-12-01 13:00").timestamp())


def test_overrides_round_trip_and_bad_json_means_none():
    overrides = Overrides(False, 123, frozenset({"flan"}), frozenset({"gringa"}))
    assert Overrides.from_json(overrides.to_json()) == overrides
    assert Overrides.from_json("not json") == NO_OVERRIDES
    assert Overrides.from_json(None) == NO_OVERRIDES


def test_sold_out_by_hand_cannot_be_ordered_and_shows_in_the_menu(flows):
    overrides = NO_OVERRIDES.mark("gringa", available=False)
    outcome = handle(flows, None, Inbound(CUSTOMER, "2 gringas"), at("2026-11-27 14:00"), overrides)
    assert any("agotado" in reply for reply in outcome.replies)
    assert outcome.session.cart == () and outcome.session.pending == ()
    menu = handle(flows, None, Inbound(CUSTOMER, "menú"), at("2026-11-27 14:00"), overrides)
    assert "gringa (agotado)" in menu.replies[0]


def test_back_in_stock_by_hand_can_be_ordered(flows):
    overrides = NO_OVERRIDES.mark("flan", available=True)
    outcome = handle(flows, None, Inbound(CUSTOMER, "1 flan"), at("2026-11-27 14:00"), overrides)
    assert any("Agregué 1 × Flan napolitano" in reply for reply in outcome.replies)


def test_closed_by_hand_says_when_the_schedule_opens_again(flows):
    now = at("2026-11-27 14:00")
    closed = NO_OVERRIDES.force(False, flows.hours, now)
    outcome = handle(flows, None, Inbound(CUSTOMER, "hola"), now, closed)
    assert "estamos cerrados" in outcome.replies[0]
    assert "abrimos hoy a las 13:00" not in outcome.replies[0].lower()
    assert "Abrimos mañana a las 13:00" in outcome.replies[0]


def test_without_overrides_the_conversation_is_unchanged(flows):
    plain = Conversation(flows, CUSTOMER, at("2026-11-27 14:00"))
    assert "Bienvenido" in plain.send("hola").replies[0]
