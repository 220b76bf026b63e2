"""Orders waiting for the store: the queue's jobs, as they are written and read back."""

from __future__ import annotations

import json

from orderkit import delivery_order

from engine.model.effects import ORDER_NUMBER_SLOT
from engine.service.waiting import WaitingOrder

QUEUED_BEFORE = json.dumps({
    "order": {
        "order_key": "k-delivery", "customer": "+525512345678", "name": "Ana López", "contact": "+525512345678",
        "lines": [
            {"item_id": "taco_pastor", "name": "Taco al pastor", "quantity": 2,
             "options": {"tortilla": "maiz", "salsa": "verde"}, "option_names": ["Tortilla de maíz", "Salsa verde"],
             "unit_price": 25, "total": 50},
            {"item_id": "horchata", "name": "Agua de horchata", "quantity": 1, "options": {}, "option_names": [],
             "unit_price": 30, "total": 30},
        ],
        "subtotal": 80, "delivery_fee": 35, "total": 115, "fulfilment": "delivery",
        "address": "Calle Niños Héroes 12, int. 3", "location_lat": 19.432608, "location_lon": -99.133209,
        "location_label": "Zócalo", "payment": "transferencia", "placed_at": "2026-11-27T14:00:00-06:00",
        "extra": {"notes": "tocar dos veces", "propina": 20, "tags": ["frío"]},
    },
    "replies": [f"Tu pedido es el *#{ORDER_NUMBER_SLOT}*"],
    "admin": [f"Pedido nuevo *#{ORDER_NUMBER_SLOT}*"],
    "attempt": 3,
}, ensure_ascii=False)
"""A job as the queue held it before orders had their own JSON: a deploy must not lose it."""


def test_a_job_queued_by_the_previous_version_is_read_back_whole():
    waiting = WaitingOrder.from_json(QUEUED_BEFORE)
    assert waiting.order == delivery_order()
    assert waiting.replies == (f"Tu pedido es el *#{ORDER_NUMBER_SLOT}*",)
    assert waiting.admin == (f"Pedido nuevo *#{ORDER_NUMBER_SLOT}*",) and waiting.attempt == 3


def test_a_job_is_written_as_the_previous_version_wrote_it():
    waiting = WaitingOrder.from_json(QUEUED_BEFORE)
    assert json.loads(waiting.to_json()) == json.loads(QUEUED_BEFORE)
    assert WaitingOrder.from_json(waiting.to_json()) == waiting
