"""The order model: its record (the stores' columns, and its JSON), its view, its lines' descriptions."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from orderkit import delivery_order, make_order

from engine.model.order import Order, OrderLine, StoredOrder, order_view

MEXICO = ZoneInfo("America/Mexico_City")


@pytest.mark.parametrize("order", [make_order(), delivery_order()], ids=["pickup", "delivery"])
def test_an_order_comes_back_from_its_record_and_from_its_json_exactly(order):
    record = order.to_record()
    assert Order.from_record(record) == order
    assert Order.from_record(json.loads(json.dumps(record))) == order  # how the waiting queue keeps it
    assert Order.from_record(record).placed_at.isoformat() == order.placed_at.isoformat()  # the offset too


def test_the_record_holds_json_values_only_and_whatever_json_cannot_hold_as_text():
    order = make_order(extra={"when": date(2026, 11, 27), "tags": ("frío",), "n": 2})
    record = order.to_record()
    assert record["extra"] == {"when": "2026-11-27", "tags": ["frío"], "n": 2}
    assert json.loads(json.dumps(record)) == record
    assert record["placed_at"] == "2026-11-27T14:00:00-06:00"
    assert (record["location_lat"], record["location_lon"], record["location_label"]) == (None, None, None)


def test_a_moment_without_its_time_zone_is_no_order():
    with pytest.raises(ValueError, match="zona horaria"):
        make_order(placed_at="2026-11-27T14:00:00")


def stored(order: Order, number: int = 1042, status: str = "listo") -> StoredOrder:
    created = datetime(2026, 11, 27, 20, 0, 1, tzinfo=timezone.utc)
    return StoredOrder(order, number, status, created, created.replace(minute=5))


def test_the_view_shows_the_order_as_the_api_always_did_with_the_names_the_flows_give():
    view = order_view(stored(delivery_order()), {"fulfilment": {"delivery": "a domicilio"}}, MEXICO)
    assert view == {
        "number": 1042,
        "status": "listo",
        "created_at": "2026-11-27T20:00:01+00:00",
        "updated_at": "2026-11-27T20:05:01+00:00",
        "customer": "+525512345678",
        "name": "Ana López",
        "contact": "+525512345678",
        "lines": [
            {"item_id": "taco_pastor", "name": "Taco al pastor", "quantity": 2,
             "options": {"tortilla": "maiz", "salsa": "verde"}, "option_names": ["Tortilla de maíz", "Salsa verde"],
             "unit_price": 25, "total": 50, "description": "2 × Taco al pastor (Tortilla de maíz, Salsa verde)"},
            {"item_id": "horchata", "name": "Agua de horchata", "quantity": 1, "options": {}, "option_names": [],
             "unit_price": 30, "total": 30, "description": "1 × Agua de horchata"},
        ],
        "subtotal": 80,
        "delivery_fee": 35,
        "total": 115,
        "fulfilment": "delivery",
        "fulfilment_name": "a domicilio",
        "address": "Calle Niños Héroes 12, int. 3",
        "location": {"latitude": 19.432608, "longitude": -99.133209, "label": "Zócalo"},
        "payment": "transferencia",
        "payment_name": "transferencia",  # no name in the flows: the id itself
        "placed_at": "2026-11-27T14:00:00-06:00",
        "time": "14:00",
        "extra": {"notes": "tocar dos veces", "propina": 20, "tags": ["frío"]},
    }
    assert json.loads(json.dumps(view)) == view
    assert "order_key" not in view and "key" not in view  # derived from the conversation: internal


def test_the_time_shown_is_the_restaurants_whatever_offset_the_store_gave_back():
    in_utc = replace(make_order(), placed_at=datetime(2026, 11, 28, 5, 30, tzinfo=timezone.utc))
    view = order_view(stored(in_utc), {}, MEXICO)
    assert (view["time"], view["placed_at"], view["location"]) == ("23:30", "2026-11-28T05:30:00+00:00", None)


@pytest.mark.parametrize(
    "quantity, name, options, said",
    [
        (3, "Taco al pastor", ("harina", "sin cebolla"), "3 × Taco al pastor (harina, sin cebolla)"),
        (1, "Refresco (355 ml)", ("Coca-Cola",), "1 × Refresco (355 ml, Coca-Cola)"),
        (2, "Gringa", (), "2 × Gringa"),
    ],
)
def test_a_stored_line_is_described_as_the_cart_describes_it(quantity, name, options, said):
    line = OrderLine("x", name, quantity, {}, options, 10, 10 * quantity)
    assert line.description == said  # the cart says it with the same function (describe_line)
