"""Where confirmed orders are kept, declared once: ``OrderStore`` and the ``StoredOrder`` it hands back.

Two stores implement it: ``engine.orders_sqlite.SqliteOrderStore`` (a file, the default, so a
laptop keeps orders with no set-up) and ``engine.orders_supabase.SupabaseOrderStore`` (the
``orders`` table of ``supabase/migrations``). ``open_order_store`` picks one from the settings.

Saving is idempotent on ``Order.key``: a retried webhook, or a crash between saving and replying,
gets the order that is already stored, with its number, and never a second row.
"""

from __future__ import annotations

import base64
import builtins
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, Mapping, Protocol

from engine.messages import Location, Order, OrderLine

FIRST_ORDER_NUMBER = 1001
DEFAULT_DB_PATH = Path("data/orders.sqlite3")

STATUSES = ("nuevo", "preparando", "listo", "entregado", "cancelado")
"""An order's life, in order; ``entregado`` and ``cancelado`` close it."""
OPEN_STATUSES = ("nuevo", "preparando", "listo")
FULFILMENTS = ("pickup", "delivery")


class OrderStoreError(Exception):
    """The store refused the request and repeating it will not help (a bad order, a missing table)."""


class OrderStoreUnavailable(OrderStoreError):
    """The store cannot be reached now (network, 5xx, a locked file): keep the order and retry."""


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


class OrderStore(Protocol):
    async def save(self, order: Order) -> StoredOrder:
        """Store ``order`` once: saving the same ``order.key`` again returns the stored order."""
        ...

    async def get(self, number: int) -> StoredOrder | None: ...

    async def open_orders(self, day: date, tz: tzinfo) -> builtins.list[StoredOrder]:
        """Orders placed on ``day`` (in ``tz``) that are neither delivered nor cancelled, oldest first."""
        ...

    async def set_status(self, number: int, status: str) -> StoredOrder | None:
        """The order with its new status (None: no such order); ``ValueError`` for an unknown status."""
        ...

    async def list(self, limit: int = 50, status: str | None = None) -> builtins.list[StoredOrder]:
        """The latest orders first, at most ``limit``, only those in ``status`` if given."""
        ...

    async def close(self) -> None: ...


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise ValueError(f"Estado desconocido {status!r}: debe ser uno de {', '.join(STATUSES)}.")
    return status


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The first moment of ``day`` and of the next day in ``tz`` (23 or 25 hours apart on DST days)."""
    return datetime.combine(day, time.min, tzinfo=tz), datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)


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


async def open_order_store(url: str | None, key: str | None, path: str | Path | None = None) -> OrderStore:
    """Supabase when ``url`` and ``key`` (SUPABASE_URL, SUPABASE_KEY) are given, else SQLite at
    ``path`` (ORDERS_DB_PATH, default ``data/orders.sqlite3``)."""
    url, key = (url or "").strip() or None, (key or "").strip() or None
    if url is not None and key is not None:
        if key_role(key) == "anon":
            raise ValueError("SUPABASE_KEY es la llave anon: el servidor necesita la llave service_role.")
        from engine.orders_supabase import SupabaseOrderStore

        return await SupabaseOrderStore.connect(url, key)
    if url is not None or key is not None:
        # Half a configuration would quietly keep production orders in a file that Render wipes.
        missing = "SUPABASE_KEY" if key is None else "SUPABASE_URL"
        raise ValueError(f"Falta {missing}: para guardar los pedidos en Supabase hacen falta las dos.")
    from engine.orders_sqlite import SqliteOrderStore

    return SqliteOrderStore(Path(path) if path else DEFAULT_DB_PATH)


def key_role(key: str) -> str | None:
    """The role a Supabase API key acts as: ``anon``, ``service_role``, or None when unknown."""
    if key.startswith("sb_publishable_"):
        return "anon"
    if key.startswith("sb_secret_"):
        return "service_role"
    parts = key.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    role = claims.get("role") if isinstance(claims, dict) else None
    return role if isinstance(role, str) else None
