"""What the admin changes by WhatsApp on top of the flow files: hours and availability.

Small and JSON-serialisable, so every instance reads the same overrides from the shared store
and passes them to the pure runtime with each message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from engine.model.hours import Hours
from engine.model.menu import Item
from engine.runtime.hours import next_change, taking_orders


@dataclass(frozen=True, slots=True)
class Overrides:
    forced_open: bool | None = None
    """True after ``#abrir``, False after ``#cerrar``; None: the hours decide."""
    until: int = 0
    """Epoch seconds when the forced state ends (the next change in the schedule)."""
    sold_out: frozenset[str] = frozenset()
    """Item ids marked ``#agotado``."""
    back_in_stock: frozenset[str] = frozenset()
    """Item ids marked ``#disponible`` although the menu says they are not."""

    def taking_orders(self, hours: Hours, now: datetime) -> bool:
        forced = self.forced(now)
        return taking_orders(hours, now) if forced is None else forced

    def forced(self, now: datetime) -> bool | None:
        """Open (True) or closed (False) as the admin said, while that lasts; None: the hours decide."""
        if self.forced_open is not None and now.timestamp() < self.until:
            return self.forced_open
        return None

    def available(self, item: Item) -> bool:
        if item.id in self.sold_out:
            return False
        return item.available or item.id in self.back_in_stock

    def force(self, open_: bool, hours: Hours, now: datetime) -> Overrides:
        """``#abrir`` / ``#cerrar``: until the schedule itself would change."""
        return replace(self, forced_open=open_, until=int(next_change(hours, now).timestamp()))

    def mark(self, item_id: str, available: bool) -> Overrides:
        if available:
            return replace(self, sold_out=self.sold_out - {item_id}, back_in_stock=self.back_in_stock | {item_id})
        return replace(self, sold_out=self.sold_out | {item_id}, back_in_stock=self.back_in_stock - {item_id})

    def to_json(self) -> str:
        raw: dict[str, Any] = {
            "forced_open": self.forced_open,
            "until": self.until,
            "sold_out": sorted(self.sold_out),
            "back_in_stock": sorted(self.back_in_stock),
        }
        return json.dumps(raw, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes | None) -> Overrides:
        if not text:
            return NO_OVERRIDES
        try:
            raw = json.loads(text)
            return cls(raw.get("forced_open"), int(raw.get("until", 0)), frozenset(raw.get("sold_out", ())),
                       frozenset(raw.get("back_in_stock", ())))
        except (ValueError, TypeError, AttributeError):
            return NO_OVERRIDES


NO_OVERRIDES = Overrides()

OVERRIDES_KEY = "overrides"
"""Where they live in the shared store; the service reads them with every message."""
