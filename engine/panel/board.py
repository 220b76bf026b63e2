"""The kitchen board: today's orders as cards, in columns by status.

Today's orders are the latest ``TODAY_LIMIT`` of the order store placed on the restaurant's
current day (a taquería's day is far below that). ``fingerprint`` tells a live board whether
anything on it changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from engine.model.order import STATUSES, StoredOrder
from engine.runtime.flows import Flows

TODAY_LIMIT = 500
COLUMNS = ("nuevo", "preparando", "listo", "entregado")
"""The board's columns, in order; ``cancelado`` is shown apart."""
STATUS_NAMES = {
    "nuevo": "Nuevo", "preparando": "Preparando", "listo": "Listo", "entregado": "Entregado", "cancelado": "Cancelado",
}
NEXT_STATUS = {"nuevo": "preparando", "preparando": "listo", "listo": "entregado"}
assert set(STATUS_NAMES) == set(STATUSES)


class RecentOrders(Protocol):
    """The part of ``engine.orders.store.OrderStore`` the board reads."""

    async def list(self, limit: int = 50, status: str | None = None) -> list[StoredOrder]: ...


@dataclass(frozen=True)
class Card:
    """One order as the board shows it (text only: the templates escape it)."""

    number: int
    status: str
    time: str
    name: str
    contact: str
    customer: str
    lines: tuple[tuple[int, str, str, int], ...]
    """(quantity, name, options joined, total)."""
    fulfilment: str
    fulfilment_name: str
    address: str | None
    map_url: str | None
    payment_name: str
    subtotal: int
    delivery_fee: int
    total: int
    next_status: str | None


async def todays_orders(orders: RecentOrders, now: datetime, tz: ZoneInfo) -> list[StoredOrder]:
    """Orders placed today (restaurant's time), oldest first."""
    today = now.astimezone(tz).date()
    latest = await orders.list(limit=TODAY_LIMIT)
    return sorted((o for o in latest if o.order.placed_at.astimezone(tz).date() == today), key=lambda o: o.number)


def card(flows: Flows, stored: StoredOrder) -> Card:
    names = flows.compiled.answer_names
    tz = ZoneInfo(flows.hours.timezone)
    location = stored.order.location
    map_url = None
    if location is not None:
        map_url = f"https://www.google.com/maps/search/?api=1&query={location.latitude:.6f}%2C{location.longitude:.6f}"
    address = stored.order.address
    if address is None and location is not None:
        address = location.describe()
    return Card(
        number=stored.number,
        status=stored.status,
        time=stored.order.placed_at.astimezone(tz).strftime("%H:%M"),
        name=stored.order.name,
        contact=stored.order.contact,
        customer=stored.order.customer,
        lines=tuple((line.quantity, line.name, ", ".join(line.option_names), line.total) for line in stored.order.lines),
        fulfilment=stored.order.fulfilment,
        fulfilment_name=names.get("fulfilment", {}).get(stored.order.fulfilment) or stored.order.fulfilment,
        address=address,
        map_url=map_url,
        payment_name=names.get("payment", {}).get(stored.order.payment) or stored.order.payment,
        subtotal=stored.order.subtotal,
        delivery_fee=stored.order.delivery_fee,
        total=stored.order.total,
        next_status=NEXT_STATUS.get(stored.status),
    )


def columns(cards: list[Card]) -> dict[str, list[Card]]:
    """Status -> its cards (oldest first); every status is there, even empty."""
    by_status: dict[str, list[Card]] = {status: [] for status in STATUSES}
    for one in cards:
        by_status.setdefault(one.status, []).append(one)
    return by_status


def fingerprint(orders: list[StoredOrder]) -> str:
    """Changes whenever an order appears or changes."""
    text = "|".join(f"{o.number}:{o.status}:{o.updated_at.timestamp():.6f}" for o in orders)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def board_context(flows: Flows, orders: list[StoredOrder]) -> dict[str, Any]:
    cards = [card(flows, o) for o in orders]
    return {
        "columns": columns(cards),
        "column_ids": COLUMNS,
        "status_names": STATUS_NAMES,
        "version": fingerprint(orders),
        "numbers": ",".join(str(c.number) for c in cards),
    }
