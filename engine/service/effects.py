"""After a message: orders stored, notices sent, errors reported: ``EffectRunner``, declared once,
and ``Operations``, the service's implementation.

- ``SaveOrder``: stored once (the store is idempotent on the order's key) and its number written
  into the replies. If the store cannot be reached, the order waits in a durable queue and is
  saved as soon as it can be; the customer is told the number then (``order_saved_later`` now).
- ``NotifyAdmin``, ``ForwardToAdmin``: queued in the outbox for ``ADMIN_PHONE_NUMBER`` under an
  id derived from the event, so a retried webhook never sends twice.
- ``ReportError``: the admin hears of each kind of error at most once per ``error_window``
  seconds, with a count of the ones held back.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from contextlib import suppress
from typing import Any, Callable, Protocol

from engine.model.effects import (
    ORDER_NUMBER_SLOT,
    ForwardToAdmin,
    HandOver,
    NotifyAdmin,
    Outcome,
    ReportError,
)
from engine.model.inbound import Inbound, Location
from engine.model.order import Order, OrderLine, order_record
from engine.orders.store import OrderStore, OrderStoreError, OrderStoreUnavailable
from engine.runtime.flows import Flows
from engine.runtime.phones import WHATSAPP_PREFIX, mask
from engine.service.outbox import REPORT_KIND, Outbox, Undeliverable
from engine.service.retry import RetryPolicy
from engine.storage.jobqueue import JobQueue
from engine.storage.store import Store


class EffectRunner(Protocol):
    async def run(self, outcome: Outcome, inbound: Inbound) -> Outcome:
        """Carry out ``outcome.effects``; the outcome to answer with (order number filled in)."""
        ...


ERROR_WINDOW = 600
"""Seconds during which the same kind of error is told to the admin only once."""


def event_id(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:20]


class ErrorReports:
    """Tells the admin about errors customers hit, throttled per kind of error."""

    def __init__(self, flows: Flows, outbox: Outbox, store: Store, admin: str | None, log: logging.Logger,
                 now: Callable[[], float], window: int = ERROR_WINDOW) -> None:
        self.flows, self.outbox, self.store, self.admin, self.log = flows, outbox, store, admin, log
        self.now, self.window = now, window

    async def report(self, customer: str, what: str) -> None:
        kind = what.split(":", 1)[0][:60]
        key = f"errors:{event_id(kind)}"
        self.log.error("❗ Error con %s: %s", mask(customer), what.replace("\n", " ")[:200])
        if self.admin is None:
            return
        if not await self.store.set_if_absent(key, "1", self.window):
            await self.store.incr(f"{key}:held", self.window * 2)
            return
        held = await self.store.get(f"{key}:held")
        await self.store.delete(f"{key}:held")
        text = self.flows.compiled.templates.render(
            "admin_error",
            {"restaurant": self.flows.compiled.restaurant_view, "customer": mask(customer), "what": what[:300],
             "held_back": int(held or 0)},
        )
        window_start = int(self.now() // self.window)
        # REPORT_KIND: if this notice cannot be sent either, the outbox only logs it (no report of a report).
        await self.outbox.enqueue(f"error:{event_id(kind, window_start)}", self.admin, text, REPORT_KIND)

    async def undeliverable(self, failure: Undeliverable) -> None:
        await self.report(failure.to, f"envío fallido: {failure.describe()}")


def order_from_record(record: dict[str, Any]) -> Order:
    """The inverse of ``engine.orders.order_record``: how a waiting order comes back from the queue."""
    lat = record.get("location_lat")
    return Order(
        key=record["order_key"], customer=record["customer"], name=record["name"], contact=record["contact"],
        lines=tuple(
            OrderLine(l["item_id"], l["name"], l["quantity"], dict(l["options"]), tuple(l["option_names"]),
                      l["unit_price"], l["total"])
            for l in record["lines"]
        ),
        subtotal=record["subtotal"], delivery_fee=record["delivery_fee"], total=record["total"],
        fulfilment=record["fulfilment"], address=record.get("address"),
        location=None if lat is None else Location(lat, record["location_lon"], record.get("location_label")),
        payment=record["payment"], placed_at=record["placed_at"], extra=dict(record.get("extra") or {}),
    )


class WaitingOrders:
    """Orders the store could not take yet: kept in a durable queue and saved when it can."""

    def __init__(self, queue: JobQueue, orders: OrderStore, outbox: Outbox, admin: str | None,
                 policy: RetryPolicy, log: logging.Logger, now: Callable[[], float], poll: float = 2.0) -> None:
        self.queue, self.orders, self.outbox, self.admin = queue, orders, outbox, admin
        self.policy, self.log, self.now, self.poll = policy, log, now, poll
        self._task: asyncio.Task[None] | None = None

    async def keep(self, order: Order, replies: tuple[str, ...], admin_texts: tuple[str, ...]) -> None:
        payload = {"order": order_record(order), "replies": replies, "admin": admin_texts, "attempt": 0}
        await self.queue.add(order.key, json.dumps(payload, ensure_ascii=False), self.now())
        self.log.warning("⏳ Pedido de %s en espera: la base de pedidos no responde", mask(order.customer))

    async def save_due(self) -> int:
        done = 0
        for job in await self.queue.claim(self.now(), 60.0, 8):
            payload = json.loads(job.payload)
            try:
                stored = await self.orders.save(order_from_record(payload["order"]))
            except OrderStoreError as error:
                attempt = payload["attempt"] + 1
                payload["attempt"] = attempt
                delay = self.policy.delay(min(attempt, 8))
                await self.queue.reschedule(job.id, json.dumps(payload, ensure_ascii=False), self.now() + delay)
                self.log.warning("⏳ El pedido sigue en espera (%s), otro intento en %.0f s", type(error).__name__, delay)
                continue
            number = str(stored.number)
            for index, text in enumerate(payload["replies"]):
                await self.outbox.enqueue(f"saved-later:{job.id}:{index}", stored.customer,
                                          text.replace(ORDER_NUMBER_SLOT, number), "order_confirmation")
            if self.admin:
                for index, text in enumerate(payload["admin"]):
                    await self.outbox.enqueue(f"order:{job.id}:{index}", self.admin,
                                              text.replace(ORDER_NUMBER_SLOT, number), "order")
            await self.queue.finish(job.id, 7 * 86400)
            self.log.info("🧾 Pedido #%s guardado (estaba en espera)", number)
            done += 1
        return done

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="waiting-orders")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.save_due()
            except Exception as error:  # keep the loop alive; the next round tries again
                self.log.error("⚠️ Pedidos en espera: %s", type(error).__name__)
            await asyncio.sleep(self.poll)


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
        message = inbound.message_id or f"{inbound.customer}|{getattr(outcome.session, 'last_seen', 0)}|{inbound.text}"
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
        return outcome

    async def store_order(self, outcome: Outcome, order: Order) -> Outcome:
        try:
            stored = await self.orders.save(order)
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
        return outcome.with_order_number(stored.number)

    async def tell_admin(self, kind: str, text: str, source: str) -> None:
        if self.admin is None:
            self.log.info("📣 Aviso para el encargado (%s) sin ADMIN_PHONE_NUMBER: solo en el log", kind)
            return
        await self.outbox.enqueue(f"{kind}:{event_id(source, kind)}", self.admin, text, kind)
