"""Orders for the order-store tests, shaped like the ones the runtime builds."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from engine.model.inbound import Location
from engine.model.order import Order, OrderLine

CUSTOMER = "+525512345678"


def make_order(key: str = "k-1001", placed_at: str = "2026-11-27T14:00:00-06:00", **changes: Any) -> Order:
    """A pickup order of two tacos and a drink, placed at ``placed_at`` (ISO 8601); ``changes``
    replaces any field."""
    order = Order(
        key=key,
        customer=CUSTOMER,
        name="Ana López",
        contact=CUSTOMER,
        lines=(
            OrderLine("taco_pastor", "Taco al pastor", 2, {"tortilla": "maiz", "salsa": "verde"},
                      ("Tortilla de maíz", "Salsa verde"), 25, 50),
            OrderLine("horchata", "Agua de horchata", 1, {}, (), 30, 30),
        ),
        subtotal=80,
        delivery_fee=0,
        total=80,
        fulfilment="pickup",
        address=None,
        location=None,
        payment="efectivo",
        placed_at=datetime.fromisoformat(placed_at),
        extra={"notes": "sin cebolla 🌮"},
    )
    return replace(order, **changes) if changes else order


def delivery_order(key: str = "k-delivery") -> Order:
    """A delivery to a pinned location, with a fee and an address."""
    return make_order(
        key,
        fulfilment="delivery",
        delivery_fee=35,
        total=115,
        address="Calle Niños Héroes 12, int. 3",
        location=Location(19.432608, -99.133209, "Zócalo"),
        payment="transferencia",
        extra={"notes": "tocar dos veces", "propina": 20, "tags": ["frío"]},
    )
