"""Where confirmed orders are kept, declared once: ``OrderStore`` and the ``StoredOrder`` it hands back.

Two stores implement it: ``engine.orders.sqlite.SqliteOrderStore`` (a file, the default, so a
laptop keeps orders with no set-up) and ``engine.orders.supabase.SupabaseOrderStore`` (the
``orders`` table of ``supabase/migrations``). ``engine.orders.opening.open_order_store`` picks one from the settings.

Saving is idempotent on ``Order.key``: a retried webhook, or a crash between saving and replying,
gets the order that is already stored, with its number, and never a second row.

Each store also keeps the service's queue of messages to send (``queue``): they are as durable as
the orders, and the notices an order causes are written in the same transaction as the order
(``save(order, then=...)``), so an order is never stored without its notice, nor the other way.
"""

from __future__ import annotations

import base64
import builtins
import json
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Callable, Protocol, Sequence

from engine.model.jobs import Job, TrackingQueue
from engine.model.order import Order, StoredOrder

FIRST_ORDER_NUMBER = 1001
DEFAULT_DB_PATH = Path("data/orders.sqlite3")


class OrderStoreError(Exception):
    """The store refused the request and repeating it will not help (a bad order, a missing table)."""


class OrderStoreUnavailable(OrderStoreError):
    """The store cannot be reached now (network, 5xx, a locked file): keep the order and retry."""


class OrderStore(Protocol):
    async def save(self, order: Order, then: Sequence[Job] = (), due: float = 0.0) -> StoredOrder:
        """Store ``order`` once: saving the same ``order.key`` again returns the stored order.
        ``then``: jobs for ``queue`` written in the same transaction, due at ``due``, with
        ``ORDER_NUMBER_SLOT`` in their payload made the order's number (an id already queued is
        left alone)."""
        ...

    def queue(self, now: Callable[[], float]) -> TrackingQueue:
        """The store's durable queue of messages to send, on the service's clock ``now``."""
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


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The first moment of ``day`` and of the next day in ``tz`` (23 or 25 hours apart on DST days)."""
    return datetime.combine(day, time.min, tzinfo=tz), datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)


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
