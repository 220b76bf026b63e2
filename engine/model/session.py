"""A customer's conversation state: small, JSON-serialisable and versioned.

Only ids and numbers are kept (names and prices come from the flows), so a typical order stays
well under 1 KB serialised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
"""Stored formats still read: version 1 lacks the fields version 2 added (all optional)."""
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
"""What ``json.dumps`` with these options builds anew on every call."""


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
class Which:
    """A "which one?" the bot asked and is waiting for: the answer picks one of ``candidates``."""

    kind: str
    """``add``: candidates are item ids, the one chosen is ordered (``quantity``, ``options``);
    ``replace``: the cart line at ``line`` becomes the item chosen; ``line``: candidates are cart
    line positions, and ``edit`` is what happens to the one chosen."""
    candidates: tuple[str, ...]
    quantity: int | None = None
    line: int | None = None
    edit: tuple[str, ...] = ()
    """For ``line``: ``("remove", n)``, ``("quantity", n)``, ``("option", group, choice)``, ``("more", n)``
    (numbers written as text; "" for none)."""
    options: dict[str, str] = field(default_factory=dict)
    """For ``add``: choices already said ("2 aguas de 1 litro")."""

    def to_json(self) -> list[Any]:
        return [self.kind, list(self.candidates), self.quantity, self.line, list(self.edit), self.options]

    @classmethod
    def from_json(cls, raw: list[Any]) -> Which:
        kind, candidates, quantity, line, edit, options = raw
        return cls(
            str(kind), tuple(str(c) for c in candidates), None if quantity is None else int(quantity),
            None if line is None else int(line), tuple(str(e) for e in edit), {str(k): str(v) for k, v in options.items()},
        )


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
    placed: int = 0
    """Orders placed in this conversation: with ``started``, what makes each order's key unique."""
    ahead: tuple[str, ...] = ()
    """Answers (``save_as`` names) given before their question: the steps that ask them are passed over."""
    which: Which | None = None
    """The "which one?" the bot is waiting for, if any."""
    last: Line | None = None
    """The cart line last added or changed (its item and options): what "otra" and "cámbiala" mean."""
    finishing: bool = False
    """The customer said they are done while lines were still being asked about: once those are
    answered the order goes on ("2 de pastor y es todo")."""
    queued: bool = False
    """A turn of this conversation went out through the service's outbox (it had buttons): the
    turns after it go there too, after it, so a reply in the webhook's answer cannot overtake a
    message still waiting to be sent. A new conversation starts without it."""
    version: int = FORMAT_VERSION

    def evolve(self, **changes: Any) -> Session:
        """A copy with ``changes``: called many times a turn, so cheaper than ``dataclasses.replace``."""
        if not changes.keys() <= _FIELDS:
            raise TypeError(f"Session has no field {min(changes.keys() - _FIELDS)!r}")
        get = changes.get
        return Session(
            get("flows_hash", self.flows_hash),
            get("step", self.step),
            get("cart", self.cart),
            get("pending", self.pending),
            get("answers", self.answers),
            get("back", self.back),
            get("started", self.started),
            get("last_seen", self.last_seen),
            get("quiet_until", self.quiet_until),
            get("recent", self.recent),
            get("placed", self.placed),
            get("ahead", self.ahead),
            get("which", self.which),
            get("last", self.last),
            get("finishing", self.finishing),
            get("queued", self.queued),
            get("version", self.version),
        )

    def to_json(self) -> str:
        # Field by field rather than ``dataclasses.asdict`` (which deep-copies everything): the
        # service stores the session after every message. What is at its default is left out, as
        # most sessions carry only a few fields; the keys keep the fields' order.
        raw: dict[str, Any] = {"flows_hash": self.flows_hash}
        if self.step is not None:
            raw["step"] = self.step
        if self.cart:
            raw["cart"] = [line.to_json() for line in self.cart]
        if self.pending:
            raw["pending"] = [line.to_json() for line in self.pending]
        if self.answers:
            raw["answers"] = self.answers
        if self.back is not None:
            raw["back"] = self.back
        if self.started:
            raw["started"] = self.started
        if self.last_seen:
            raw["last_seen"] = self.last_seen
        if self.quiet_until:
            raw["quiet_until"] = self.quiet_until
        if self.recent:
            raw["recent"] = list(self.recent)
        if self.placed:
            raw["placed"] = self.placed
        if self.ahead:
            raw["ahead"] = list(self.ahead)
        if self.which is not None:
            raw["which"] = self.which.to_json()
        if self.last is not None:
            raw["last"] = self.last.to_json()
        if self.finishing:
            raw["finishing"] = True
        if self.queued:
            raw["queued"] = True
        raw["version"] = self.version
        return _ENCODER.encode(raw)

    @classmethod
    def from_json(cls, text: str | bytes) -> Session | None:
        """The stored session, or None when it is unreadable or from another format version."""
        try:
            raw = json.loads(text)
            if raw.get("version") not in READABLE_VERSIONS or not raw.keys() <= _FIELDS:
                return None
            which, last = raw.get("which"), raw.get("last")
            return cls(
                raw["flows_hash"],
                raw.get("step"),
                tuple(Line.from_json(x) for x in raw.get("cart", ())),
                tuple(Line.from_json(x) for x in raw.get("pending", ())),
                raw.get("answers", {}),
                raw.get("back"),
                raw.get("started", 0),
                raw.get("last_seen", 0),
                raw.get("quiet_until", 0),
                tuple(raw.get("recent", ())),
                raw.get("placed", 0),
                tuple(str(name) for name in raw.get("ahead", ())),
                None if which is None else Which.from_json(which),
                None if last is None else Line.from_json(last),
                bool(raw.get("finishing", False)),
                bool(raw.get("queued", False)),
                FORMAT_VERSION,
            )
        except (ValueError, TypeError, AttributeError, KeyError):
            return None


_FIELDS = frozenset(Session.__dataclass_fields__)
