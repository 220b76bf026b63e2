"""The order, in one place.

- ``Order``: what the runtime builds when a customer confirms; ``OrderLine``: one of its lines.
- ``StoredOrder``: an order as a store hands it back, with its number, status and times.
- ``STATUSES``: the life of an order.
- ``Order.to_record`` / ``Order.from_record``: the columns both stores keep (SQLite's ``orders``
  table, Supabase's ``place_order`` payload and rows). The record holds JSON values only, so it is
  also how an order travels as JSON (the durable queue of orders waiting for the store).
- ``order_view``: how an order is shown, in the admin's messages, by ``/api/orders`` and in the
  web panel.

Adding a field to an order touches this module (the field, the record, the view if it is shown)
and the SQL (``engine/orders/sqlite.py``'s schema and a new migration in ``supabase/migrations``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, TypedDict

from engine.model.inbound import Location

STATUSES = ("nuevo", "preparando", "listo", "entregado", "cancelado")
"""An order's life, in order; ``entregado`` and ``cancelado`` close it."""
OPEN_STATUSES = ("nuevo", "preparando", "listo")
FULFILMENTS = ("pickup", "delivery")

AnswerNames = Mapping[str, Mapping[str, str]]
"""What the flows call the ids an answer may hold: ``{"payment": {"efectivo": "efectivo"}, ...}``."""


class LineRecord(TypedDict):
    """An ``OrderLine`` as JSON (an element of the ``lines`` column)."""

    item_id: str
    name: str
    quantity: int
    options: dict[str, str]
    option_names: list[str]
    unit_price: int
    total: int


class OrderRecord(TypedDict):
    """An ``Order`` as the columns both stores keep, every value JSON."""

    order_key: str
    customer: str
    name: str
    contact: str
    lines: list[LineRecord]
    subtotal: int
    delivery_fee: int
    total: int
    fulfilment: str
    address: str | None
    location_lat: float | None
    location_lon: float | None
    location_label: str | None
    payment: str
    placed_at: str
    """ISO 8601 with its offset."""
    extra: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line of an order, with the names and prices the customer was shown."""

    item_id: str
    name: str
    quantity: int
    options: dict[str, str]
    """Option group id -> chosen choice id."""
    option_names: tuple[str, ...]
    """The choices worth saying ("harina", "sin cebolla"), in the menu's order."""
    unit_price: int
    """Pesos per unit, options included (integers: money is never a float)."""
    total: int

    @property
    def description(self) -> str:
        """ "3 × Taco al pastor (harina, sin cebolla)"."""
        return describe_line(self.quantity, self.name, self.option_names)

    def to_record(self) -> LineRecord:
        return {
            "item_id": self.item_id,
            "name": self.name,
            "quantity": self.quantity,
            "options": dict(self.options),
            "option_names": list(self.option_names),
            "unit_price": self.unit_price,
            "total": self.total,
        }

    @classmethod
    def from_record(cls, raw: Mapping[str, Any]) -> OrderLine:
        return cls(
            item_id=str(raw["item_id"]),
            name=str(raw["name"]),
            quantity=int(raw["quantity"]),
            options={str(k): str(v) for k, v in (raw.get("options") or {}).items()},
            option_names=tuple(str(name) for name in raw.get("option_names") or ()),
            unit_price=int(raw["unit_price"]),
            total=int(raw["total"]),
        )


@dataclass(frozen=True, slots=True)
class Order:
    """A confirmed order, complete enough to store and to show the restaurant."""

    key: str
    """Unique per conversation: a retried webhook produces the same key, so the store saves once."""
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
    """``pickup`` or ``delivery``."""
    address: str | None
    location: Location | None
    payment: str
    placed_at: datetime
    """When the customer confirmed, by the service's clock, with its offset: decides which day the
    order belongs to."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Any other answer the flow saved."""

    def __post_init__(self) -> None:
        if self.placed_at.utcoffset() is None:
            raise ValueError(f"placed_at necesita su zona horaria (vale {self.placed_at.isoformat()!r}).")

    def to_record(self) -> OrderRecord:
        location = self.location
        return {
            "order_key": self.key,
            "customer": self.customer,
            "name": self.name,
            "contact": self.contact,
            "lines": [line.to_record() for line in self.lines],
            "subtotal": self.subtotal,
            "delivery_fee": self.delivery_fee,
            "total": self.total,
            "fulfilment": self.fulfilment,
            "address": self.address,
            "location_lat": None if location is None else location.latitude,
            "location_lon": None if location is None else location.longitude,
            "location_label": None if location is None else location.label,
            "payment": self.payment,
            "placed_at": self.placed_at.isoformat(),
            # The flow may save any answer; whatever JSON cannot hold is kept as its text.
            "extra": json.loads(json.dumps(self.extra, default=str)),
        }

    @classmethod
    def from_record(cls, row: Mapping[str, Any]) -> Order:
        """The order in a row with the columns of ``to_record`` (``lines`` and ``extra`` decoded;
        ``placed_at`` as text or as a ``datetime``)."""
        lat, label = row.get("location_lat"), row.get("location_label")
        address = row.get("address")
        return cls(
            key=str(row["order_key"]),
            customer=str(row["customer"]),
            name=str(row["name"]),
            contact=str(row["contact"]),
            lines=tuple(OrderLine.from_record(line) for line in row["lines"]),
            subtotal=int(row["subtotal"]),
            delivery_fee=int(row["delivery_fee"]),
            total=int(row["total"]),
            fulfilment=str(row["fulfilment"]),
            address=None if address is None else str(address),
            location=None if lat is None else Location(float(lat), float(row["location_lon"]), label),
            payment=str(row["payment"]),
            placed_at=_moment(row["placed_at"]),
            extra=dict(row.get("extra") or {}),
        )


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """An order as a store keeps it: the customer's order plus its number, status and times."""

    order: Order
    number: int
    """From the store's sequence: 1001, 1002..."""
    status: str
    """One of ``STATUSES``."""
    created_at: datetime
    updated_at: datetime
    """When the status last changed (the store's clock)."""

    @classmethod
    def from_record(cls, row: Mapping[str, Any]) -> StoredOrder:
        """A row with the columns of ``Order.to_record`` plus number, status and times."""
        return cls(
            order=Order.from_record(row),
            number=int(row["number"]),
            status=str(row["status"]),
            created_at=_moment(row["created_at"]),
            updated_at=_moment(row["updated_at"]),
        )


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise ValueError(f"Estado desconocido {status!r}: debe ser uno de {', '.join(STATUSES)}.")
    return status


def order_view(stored: StoredOrder, names: AnswerNames, zone: tzinfo) -> dict[str, Any]:
    """``stored`` as it is shown: the ``order`` of the admin's messages and of ``order_status``,
    an element of ``/api/orders``, a row of the web panel. JSON values only.

    Besides the order's fields (``order_key`` is internal and stays out), and the store's:
    ``description`` of each line, ``fulfilment_name`` and ``payment_name`` (what the flows call
    those answers, ``names``), and ``time``, the hour it was placed where the restaurant is (``zone``).
    """
    order = stored.order
    location = order.location
    return {
        "number": stored.number,
        "status": stored.status,
        "created_at": stored.created_at.isoformat(),
        "updated_at": stored.updated_at.isoformat(),
        "customer": order.customer,
        "name": order.name,
        "contact": order.contact,
        "lines": [{**line.to_record(), "description": line.description} for line in order.lines],
        "subtotal": order.subtotal,
        "delivery_fee": order.delivery_fee,
        "total": order.total,
        "fulfilment": order.fulfilment,
        "fulfilment_name": _named(names, "fulfilment", order.fulfilment),
        "address": order.address,
        "location": None if location is None else {
            "latitude": location.latitude, "longitude": location.longitude, "label": location.label,
        },
        "payment": order.payment,
        "payment_name": _named(names, "payment", order.payment),
        "placed_at": order.placed_at.isoformat(),
        "time": order.placed_at.astimezone(zone).strftime("%H:%M"),
        "extra": json.loads(json.dumps(order.extra, default=str)),
    }


def describe_line(quantity: int, name: str, options: Sequence[str]) -> str:
    """ "3 × Taco al pastor (harina)"; "1 × Refresco (355 ml, Coca-Cola)", not "(355 ml) (Coca-Cola)"."""
    joined = ", ".join(options)
    if joined and name.endswith(")"):
        return f"{quantity} × {name[:-1]}, {joined})"
    return f"{quantity} × {name}" + (f" ({joined})" if joined else "")


def _named(names: AnswerNames, answer: str, value: str) -> str:
    return names.get(answer, {}).get(value, value)


def _moment(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
