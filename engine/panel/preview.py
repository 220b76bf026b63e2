"""The chat preview: talk to the loaded flows as a customer, at a chosen moment, with nothing
stored or sent. The pure runtime answers; the session travels in the page (a hidden field),
so the server keeps nothing; what the service would do (store the order, tell the admin...) is
shown beside the replies instead of done.

A reply that ends on a question with reply buttons or a list (what WhatsApp would show,
``engine.runtime.taps.offer_sent``) carries them: the page draws them under the bot's message,
and one clicked comes back as a tap, its id with its title as the text, as Twilio posts it. Only
the latest question keeps its buttons (the page's state stays small)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
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
from engine.runtime.choices_view import TAP_ID_LIMIT, Offer
from engine.runtime.flows import Flows
from engine.runtime.handle import handle
from engine.runtime.overrides import Overrides
from engine.runtime.taps import offer_sent

CUSTOMER = "+525500000000"
"""The preview's customer (a number that is nobody's)."""
NUMBER_SHOWN = "0000"
"""Stands for the order number the store would give."""
KEPT = 80
"""Bubbles kept in the page."""
STATE_LIMIT = 64 * 1024


@dataclass(frozen=True)
class PreviewButton:
    """Something to tap under the bot's message: a reply button, or an item of a list."""

    tap: str
    """What a tap on it sends (``choices_view.Option.tap``)."""
    title: str
    description: str = ""


@dataclass(frozen=True)
class Bubble:
    who: str
    """``cliente``, ``bot`` or ``efecto``."""
    text: str
    buttons: tuple[PreviewButton, ...] = ()
    """What the customer may tap under this message (none: nothing)."""
    list_button: str = ""
    """The text of the button that opens the list ("": ``buttons`` are reply buttons)."""

    def to_json(self) -> list[Any]:
        if not self.buttons:
            return [self.who, self.text]
        options = [[b.tap, b.title, b.description] for b in self.buttons]
        return [self.who, self.text, {"list": self.list_button, "options": options}]

    @classmethod
    def from_json(cls, raw: Any) -> Bubble:
        """A bubble as ``to_json`` wrote it; ``ValueError`` (or ``TypeError``) for anything else."""
        who, text, *rest = raw
        if not rest:
            return cls(str(who), str(text))
        (tappable,) = rest
        buttons = tuple(PreviewButton(str(tap)[:TAP_ID_LIMIT], str(title), str(description))
                        for tap, title, description in tappable["options"])
        return cls(str(who), str(text), buttons, str(tappable.get("list", "")))


@dataclass(frozen=True)
class PreviewState:
    session: Session | None
    bubbles: tuple[Bubble, ...]

    def to_json(self) -> str:
        return json.dumps({"session": self.session.to_json() if self.session else None,
                           "bubbles": [b.to_json() for b in self.bubbles[-KEPT:]]}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> PreviewState:
        """The page's state; a fresh conversation for anything unreadable."""
        if not text or len(text) > STATE_LIMIT:
            return EMPTY
        try:
            raw: dict[str, Any] = json.loads(text)
            session = Session.from_json(raw["session"]) if raw.get("session") else None
            bubbles = tuple(Bubble.from_json(bubble) for bubble in raw.get("bubbles", ()))
        except (ValueError, TypeError, KeyError, AttributeError):
            return EMPTY
        return cls(session, bubbles[-KEPT:])

    def title_of(self, tap: str) -> str | None:
        """The title of the button ``tap`` names, as the page showed it (None: not shown)."""
        shown = (button for bubble in reversed(self.bubbles) for button in bubble.buttons)
        return next((button.title for button in shown if button.tap == tap), None)


EMPTY = PreviewState(None, ())


def preview_turn(flows: Flows, state: PreviewState, text: str, when: datetime, overrides: Overrides,
                 tap: str | None = None) -> PreviewState:
    """One message of the customer: ``text`` typed, or a ``tap`` on a button the page showed (its
    title is the text, as WhatsApp sends it)."""
    if tap:
        tap = tap[:TAP_ID_LIMIT]
        text = state.title_of(tap) or tap
    inbound = Inbound(CUSTOMER, text[:1000], profile_name="Prueba", tap=tap or None)
    outcome = handle(flows, state.session, inbound, when, overrides)
    replies = [Bubble("bot", reply.replace(ORDER_NUMBER_SLOT, NUMBER_SHOWN)) for reply in outcome.replies]
    offer = offer_sent(flows, outcome)
    if offer is not None and replies:
        replies[-1] = with_buttons(replies[-1], offer)
    said = [Bubble("cliente", text), *replies]
    said += [Bubble("efecto", describe(effect, flows.restaurant.money)) for effect in outcome.effects]
    earlier = (replace(bubble, buttons=(), list_button="") for bubble in state.bubbles)  # only the latest question's
    return PreviewState(outcome.session, (*earlier, *said)[-KEPT:])


def with_buttons(bubble: Bubble, offer: Offer) -> Bubble:
    buttons = tuple(PreviewButton(option.tap, option.title, option.description) for option in offer.options)
    return replace(bubble, buttons=buttons, list_button=offer.list_button if offer.kind == "list" else "")


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
