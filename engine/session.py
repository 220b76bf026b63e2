"""A customer's conversation state: small, JSON-serialisable and versioned.

Only ids and numbers are kept (names and prices come from the flows), so a typical order stays
well under 1 KB serialised.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Line:
    """One cart line, or one line still being put together (``quantity`` None: not asked yet)."""

    item: str
    """Menu item id."""
    quantity: int | None = None
    options: dict[str, str] = field(default_factory=dict)
    """Option group id -> choice id."""

    def to_json(self) -> list[Any]:
        return [self.item, self.quantity, self.options]

    @classmethod
    def from_json(cls, raw: list[Any]) -> Line:
        item, quantity, options = raw
        return cls(str(item), None if quantity is None else int(quantity), dict(options))


@dataclass(frozen=True, slots=True)
class Session:
    """Everything the bot remembers about one customer between messages."""

    flows_hash: str
    """Hash of the flows this conversation started on (edits mid-conversation are noticed)."""
    step: str | None = None
    """The step waiting for the customer's answer; None before the conversation starts."""
    cart: tuple[Line, ...] = ()
    pending: tuple[Line, ...] = ()
    """Items named but not finished (quantity or an option still to ask), first one first."""
    answers: dict[str, Any] = field(default_factory=dict)
    """What the customer answered, by the ``save_as`` name of each step."""
    back: str | None = None
    """Where ``back`` returns after a command interrupted the step."""
    started: int = 0
    """Epoch seconds when this conversation started (part of the order's unique key)."""
    last_seen: int = 0
    """Epoch seconds of the last message: the session expires after ``session_minutes``."""
    quiet_until: int = 0
    """Epoch seconds until which a person handles this customer and the bot stays quiet."""
    recent: tuple[str, ...] = ()
    """The customer's last few messages, for the person who takes over."""
    version: int = FORMAT_VERSION

    def evolve(self, **changes: Any) -> Session:
        return replace(self, **changes)

    def to_json(self) -> str:
        raw = asdict(self)
        raw["cart"] = [line.to_json() for line in self.cart]
        raw["pending"] = [line.to_json() for line in self.pending]
        raw["recent"] = list(self.recent)
        # Leave out what is at its default: most sessions carry only a few fields.
        defaults = _DEFAULTS
        compact = {k: v for k, v in raw.items() if k in ("version", "flows_hash") or v != defaults.get(k)}
        return json.dumps(compact, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Session | None:
        """The stored session, or None when it is unreadable or from another format version."""
        try:
            raw = json.loads(text)
            if raw.get("version") != FORMAT_VERSION:
                return None
            raw["cart"] = tuple(Line.from_json(x) for x in raw.get("cart", ()))
            raw["pending"] = tuple(Line.from_json(x) for x in raw.get("pending", ()))
            raw["recent"] = tuple(raw.get("recent", ()))
            return cls(**raw)
        except (ValueError, TypeError, AttributeError, KeyError):
            return None


_DEFAULTS: dict[str, Any] = {
    "step": None,
    "cart": [],
    "pending": [],
    "answers": {},
    "back": None,
    "started": 0,
    "last_seen": 0,
    "quiet_until": 0,
    "recent": [],
}
