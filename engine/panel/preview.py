"""The chat preview: talk to the loaded flows as a customer, at a chosen moment, with nothing
stored or sent. The pure runtime answers; the session travels in the page (a hidden field),
so the server keeps nothing; what the service would do (store the order, tell the admin...) is
shown beside the replies instead of done."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.model.effects import (
    ORDER_NUMBER_SLOT,
    Effect,
    ForwardToAdmin,
    HandOver,
    NotifyAdmin,
    ReportError,
    SaveOrder,
)
from engine.model.inbound import Inbound
from engine.model.restaurant import Money
from engine.model.session import Session
from engine.runtime.cart import format_money
from engine.runtime.flows import Flows
from engine.runtime.handle import handle
from engine.runtime.overrides import Overrides

CUSTOMER = "+525500000000"
"""The preview's customer (a number that is nobody's)."""
NUMBER_SHOWN = "0000"
"""Stands for the order number the store would give."""
KEPT = 80
"""Bubbles kept in the page."""
STATE_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Bubble:
    who: str
    """``cliente``, ``bot`` or ``efecto``."""
    text: str


@dataclass(frozen=True)
class PreviewState:
    session: Session | None
    bubbles: tuple[Bubble, ...]

    def to_json(self) -> str:
        return json.dumps({"session": self.session.to_json() if self.session else None,
                           "bubbles": [[b.who, b.text] for b in self.bubbles[-KEPT:]]}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> PreviewState:
        """The page's state; a fresh conversation for anything unreadable."""
        if not text or len(text) > STATE_LIMIT:
            return EMPTY
        try:
            raw: dict[str, Any] = json.loads(text)
            session = Session.from_json(raw["session"]) if raw.get("session") else None
            bubbles = tuple(Bubble(str(who), str(said)) for who, said in raw.get("bubbles", ()))
        except (ValueError, TypeError, KeyError):
            return EMPTY
        return cls(session, bubbles[-KEPT:])


EMPTY = PreviewState(None, ())


def preview_turn(flows: Flows, state: PreviewState, text: str, when: datetime, overrides: Overrides) -> PreviewState:
    outcome = handle(flows, state.session, Inbound(CUSTOMER, text[:1000], profile_name="Prueba"), when, overrides)
    said = [Bubble("cliente", text)]
    said += [Bubble("bot", reply.replace(ORDER_NUMBER_SLOT, NUMBER_SHOWN)) for reply in outcome.replies]
    said += [Bubble("efecto", describe(effect, flows.restaurant.money)) for effect in outcome.effects]
    return PreviewState(outcome.session, (*state.bubbles, *said)[-KEPT:])


def describe(effect: Effect, money: Money) -> str:
    """What the service would do, in the restaurant's words."""
    if isinstance(effect, SaveOrder):
        order = effect.order
        count = sum(line.quantity for line in order.lines)
        return (f"🧾 Se guardaría el pedido: {count} platillos, total {format_money(order.total, money)}, "
                f"{order.fulfilment}, pago {order.payment} (en la prueba no se guarda).")
    if isinstance(effect, NotifyAdmin):
        return f"📣 Aviso al encargado ({effect.kind}):\n{effect.text.replace(ORDER_NUMBER_SLOT, NUMBER_SHOWN)}"
    if isinstance(effect, HandOver):
        return f"🙋 Pasaría con una persona hasta {effect.until[11:16]}; el bot se calla."
    if isinstance(effect, ForwardToAdmin):
        return f"💬 Se le reenviaría al encargado: {effect.text}"
    if isinstance(effect, ReportError):
        return f"⚠️ Error que se le reportaría al encargado: {effect.what}"
    return repr(effect)
