"""The order, in one place: what the runtime builds when a customer confirms (``Order``), what a
store hands back (``StoredOrder``), the statuses it goes through, and the one mapping to and from
the columns both stores keep (``order_record`` / ``stored_order``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.model.inbound import Location


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line of a stored order."""

    item_id: str
    name: str
    quantity: int
    options: dict[str, str]
    """Option group id -> chosen choice id."""
    option_names: tuple[str, ...]
    unit_price: int
    """Pesos per unit, options included (integers: money is never a float)."""
    total: int


@dataclass(frozen=True, slots=True)
class Order:
    """A confirmed order, complete enough to store and to show the restaurant."""

    key: str
    """Unique per conversation: a retried webhook produces the same key, so the store saves once."""
    customer: str
    name: str
    contact: str
    lines: tuple[OrderLine, ...]
    subtotal: int
    delivery_fee: int
    total: int
    fulfilment: str
    """``pickup`` or ``delivery``."""
    address: str | None
    location: Location | None
    payment: str
    placed_at: str
    """ISO 8601 timestamp with offset, in the restaurant's time zone."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Any other answer the flow saved."""

STATUSES = ("nuevo", "preparando", "listo", "entregado", "cancelado")
"""An order's life, in order; ``entregado`` and ``cancelado`` close it."""
OPEN_STATUSES = ("nuevo", "preparando", "listo")
FULFILMENTS = ("pickup", "delivery")


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """An order as the store keeps it: the customer's order plus its number, status and times."""

    number: int
    status: str
    created_at: datetime
    updated_at: datetime
    key: str
    customer: str
    """WhatsApp number in E.164."""
    name: str
    contact: str
    lines: tuple[OrderLine, ...]
    subtotal: int
    delivery_fee: int
    total: int
    """Pesos, always ``subtotal + delivery_fee``."""
    fulfilment: str
    address: str | None
    location: Location | None
    payment: str
    placed_at: datetime
    """When the customer confirmed, by the runtime's clock: decides which day the order belongs to."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def order(self) -> Order:
        """The runtime's ``Order`` this was stored from."""
        return Order(
            key=self.key, customer=self.customer, name=self.name, contact=self.contact, lines=self.lines,
            subtotal=self.subtotal, delivery_fee=self.delivery_fee, total=self.total,
            fulfilment=self.fulfilment, address=self.address, location=self.location,
            payment=self.payment, placed_at=self.placed_at.isoformat(), extra=self.extra,
        )


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise ValueError(f"Estado desconocido {status!r}: debe ser uno de {', '.join(STATUSES)}.")
    return status


def order_record(order: Order) -> dict[str, Any]:
    """``order`` as the column values both stores keep (lines and extra as JSON-ready values)."""
    location = order.location
    if datetime.fromisoformat(order.placed_at).tzinfo is None:
        raise ValueError(f"placed_at necesita su zona horaria (vale {order.placed_at!r}).")
    return {
        "order_key": order.key,
        "customer": order.customer,
        "name": order.name,
        "contact": order.contact,
        "lines": [
            {
                "item_id": line.item_id, "name": line.name, "quantity": line.quantity,
                "options": dict(line.options), "option_names": list(line.option_names),
                "unit_price": line.unit_price, "total": line.total,
            }
            for line in order.lines
        ],
        "subtotal": order.subtotal,
        "delivery_fee": order.delivery_fee,
        "total": order.total,
        "fulfilment": order.fulfilment,
        "address": None if order.address is None else str(order.address),
        "location_lat": None if location is None else location.latitude,
        "location_lon": None if location is None else location.longitude,
        "location_label": None if location is None else location.label,
        "payment": order.payment,
        "placed_at": order.placed_at,
        # The flow may save any answer; whatever JSON cannot hold is kept as its text.
        "extra": json.loads(json.dumps(order.extra, default=str)),
    }


def stored_order(row: Mapping[str, Any]) -> StoredOrder:
    """A ``StoredOrder`` from a row with the columns of ``order_record`` plus number, status, times."""
    lat = row.get("location_lat")
    return StoredOrder(
        number=int(row["number"]),
        status=str(row["status"]),
        created_at=_moment(row["created_at"]),
        updated_at=_moment(row["updated_at"]),
        key=str(row["order_key"]),
        customer=str(row["customer"]),
        name=str(row["name"]),
        contact=str(row["contact"]),
        lines=tuple(
            OrderLine(
                item_id=line["item_id"], name=line["name"], quantity=int(line["quantity"]),
                options=dict(line.get("options") or {}), option_names=tuple(line.get("option_names") or ()),
                unit_price=int(line["unit_price"]), total=int(line["total"]),
            )
            for line in row["lines"]
        ),
        subtotal=int(row["subtotal"]),
        delivery_fee=int(row["delivery_fee"]),
        total=int(row["total"]),
        fulfilment=str(row["fulfilment"]),
        address=row.get("address"),
        location=None if lat is None else Location(float(lat), float(row["location_lon"]), row.get("location_label")),
        payment=str(row["payment"]),
        placed_at=_moment(row["placed_at"]),
        extra=dict(row.get("extra") or {}),
    )


def _moment(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
