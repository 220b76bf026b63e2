"""After a message: orders stored, notices sent, errors reported: ``EffectRunner``, declared once,
and ``Operations``, the service's implementation.

- ``SaveOrder``: stored once (the store is idempotent on the order's key) and its number written
  into the replies; the admin's new-order notice is queued by the store in the order's own
  transaction (an order is never stored without its notice). If the store cannot be reached,
  the order waits in a queue and is saved as soon as it can be; the customer is told the number
  then (``order_saved_later`` now).
- ``NotifyAdmin``, ``ForwardToAdmin``: queued in the outbox for ``ADMIN_PHONE_NUMBER`` under an
  id derived from the event, so a retried webhook never sends twice.
- ``ReportError``: told to the admin through ``ErrorReports``, throttled.
"""

from __future__ import annotations

import logging
from typing import Protocol

from engine.model.effects import (
    ForwardToAdmin,
    HandOver,
    NotifyAdmin,
    OptIn,
    OptOut,
    Outcome,
    ReportError,
)
from engine.model.inbound import Inbound
from engine.model.jobs import Job
from engine.model.order import Order
from engine.orders.store import OrderStore, OrderStoreError, OrderStoreUnavailable
from engine.runtime.flows import Flows
from engine.runtime.phones import WHATSAPP_PREFIX, mask
from engine.service.errors import ErrorReports
from engine.service.outbox import Outbox, event_id, order_notice_id
from engine.service.waiting import WaitingOrders


class EffectRunner(Protocol):
    async def run(self, outcome: Outcome, inbound: Inbound) -> Outcome:
        """Carry out ``outcome.effects``; the outcome to answer with (order number filled in)."""
        ...


class Operations:
    """The ``EffectRunner`` of the service."""

    def __init__(self, flows: Flows, orders: OrderStore, outbox: Outbox, waiting: WaitingOrders,
                 errors: ErrorReports, admin: str | None, log: logging.Logger) -> None:
        self.flows, self.orders, self.outbox, self.waiting = flows, orders, outbox, waiting
        self.errors, self.admin, self.log = errors, admin, log

    async def run(self, outcome: Outcome, inbound: Inbound) -> Outcome:
        order = outcome.order
        if order is not None:
            outcome = await self.store_order(outcome, order)
        # Effects are named after the message that caused them: a retried webhook sends nothing twice,
        # two messages with the same words send twice. Without a transport id, the moment stands in.
        message = inbound.message_id or f"{inbound.customer}|{outcome.session.last_seen}|{inbound.text}"
        for index, effect in enumerate(outcome.effects):
            if isinstance(effect, NotifyAdmin):
                await self.tell_admin(effect.kind, effect.text, order.key if order else f"{message}|{index}")
            elif isinstance(effect, ForwardToAdmin):
                text = self.flows.compiled.templates.render(
                    "admin_forward", {"restaurant": self.flows.compiled.restaurant_view, "customer": effect.customer,
                                      "text": effect.text})
                await self.tell_admin("forward", text, f"{message}|{index}")
            elif isinstance(effect, HandOver):
                self.log.info("🙋 %s pasa con una persona hasta %s", mask(effect.customer), effect.until)
            elif isinstance(effect, ReportError):
                await self.errors.report(effect.customer, effect.what)
            elif isinstance(effect, OptOut):  # the mark itself is stored with the session (ChatService)
                self.log.info("🔕 %s no quiere mensajes: no se le escribe hasta que vuelva a escribir", mask(effect.customer))
            elif isinstance(effect, OptIn):
                self.log.info("🔔 %s volvió a escribir: se le puede escribir otra vez", mask(effect.customer))
        return outcome

    def order_notices(self, outcome: Outcome, order: Order) -> list[Job]:
        """The outbox's jobs for the admin's new-order notices, named as ``tell_admin`` names them."""
        if self.admin is None:
            return []
        notices = [e for e in outcome.effects if isinstance(e, NotifyAdmin) and e.kind == "order"]
        jobs = []
        for index, notice in enumerate(notices):
            jobs += self.outbox.jobs(order_notice_id(order.key, index), self.admin, notice.text, "order")
        return jobs

    async def store_order(self, outcome: Outcome, order: Order) -> Outcome:
        notices = self.order_notices(outcome, order)
        try:
            stored = await self.orders.save(order, notices, self.outbox.now())
        except OrderStoreError as error:  # unreachable, or refused: either way the order is not dropped
            if not isinstance(error, OrderStoreUnavailable):
                await self.errors.report(order.customer, f"pedido no guardado: {error}")
            admin_texts = tuple(e.text for e in outcome.effects if isinstance(e, NotifyAdmin) and e.kind == "order")
            await self.waiting.keep(order, outcome.replies, admin_texts)
            later = self.flows.compiled.templates.render("order_saved_later", {"restaurant": self.flows.compiled.restaurant_view})
            kept = tuple(e for e in outcome.effects if not (isinstance(e, NotifyAdmin) and e.kind == "order"))
            return Outcome(outcome.session, (later,), kept)
        self.log.info(
            "🧾 Pedido #%s para %s: %d platillos, total $%s, %s", stored.number, mask(WHATSAPP_PREFIX + order.customer),
            sum(line.quantity for line in order.lines), order.total, order.fulfilment,
        )
        if notices:
            self.outbox.news.set()  # queued with the order: the courier may send them now
        elif self.admin is None:
            self.log.info("📣 Aviso para el encargado (order) sin ADMIN_PHONE_NUMBER: solo en el log")
        kept = tuple(e for e in outcome.effects if not (isinstance(e, NotifyAdmin) and e.kind == "order"))
        return Outcome(outcome.session, outcome.replies, kept).with_order_number(stored.number)

    async def tell_admin(self, kind: str, text: str, source: str) -> None:
        if self.admin is None:
            self.log.info("📣 Aviso para el encargado (%s) sin ADMIN_PHONE_NUMBER: solo en el log", kind)
            return
        await self.outbox.enqueue(f"{kind}:{event_id(source, kind)}", self.admin, text, kind)
