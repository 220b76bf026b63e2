"""Orders the store could not take yet: kept in a durable queue and saved as soon as it answers.

Then the customer is told the order's number and the admin gets the new-order notice, through the
outbox, with the texts the runtime wrote when the customer confirmed: the store queues them in the
order's own transaction. The queue is Redis's (with memory and the copies of ``FallbackJobQueue``),
since the order store is what cannot be reached; an order saved twice (a copy put back after a
restart of Redis, say) is stored once and told once, because the store and its queue refuse a key
or an id they have.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace

from engine.model.order import Order
from engine.orders.store import OrderStore, OrderStoreError
from engine.runtime.phones import mask
from engine.service.outbox import Outbox, order_notice_id
from engine.service.retry import RetryPolicy
from engine.model.jobs import JobQueue

KEEP_SECONDS = 7 * 86400
"""How long a saved order's key is remembered by the queue (the same order queued again is ignored)."""


@dataclass(frozen=True, slots=True)
class WaitingOrder:
    """A job of the queue: the order and what to say once it has a number."""

    order: Order
    replies: tuple[str, ...]
    """The customer's confirmation, with ``ORDER_NUMBER_SLOT`` where the number goes."""
    admin: tuple[str, ...]
    """The admin's new-order notices, the same way."""
    attempt: int = 0
    """Saves tried and failed since it was queued."""

    def to_json(self) -> str:
        raw = {"order": self.order.to_record(), "replies": self.replies, "admin": self.admin, "attempt": self.attempt}
        return json.dumps(raw, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> WaitingOrder:
        raw = json.loads(text)
        return cls(Order.from_record(raw["order"]), tuple(raw["replies"]), tuple(raw["admin"]), int(raw["attempt"]))


class WaitingOrders:
    """Orders the store could not take yet: kept in ``queue`` and saved when it can."""

    def __init__(self, queue: JobQueue, orders: OrderStore, outbox: Outbox, admin: str | None,
                 policy: RetryPolicy, log: logging.Logger, now: Callable[[], float], poll: float = 2.0) -> None:
        self.queue, self.orders, self.outbox, self.admin = queue, orders, outbox, admin
        self.policy, self.log, self.now, self.poll = policy, log, now, poll
        self._task: asyncio.Task[None] | None = None

    async def keep(self, order: Order, replies: tuple[str, ...], admin_texts: tuple[str, ...]) -> None:
        await self.queue.add(order.key, WaitingOrder(order, replies, admin_texts).to_json(), self.now())
        self.log.warning("⏳ Pedido de %s en espera: la base de pedidos no responde", mask(order.customer))

    async def save_due(self) -> int:
        """One round: try to save the orders due now; how many were saved."""
        done = 0
        for job in await self.queue.claim(self.now(), 60.0, 8):
            waiting = WaitingOrder.from_json(job.payload)
            customer = waiting.order.customer
            notices = [notice for index, text in enumerate(waiting.replies)
                       for notice in self.outbox.jobs(f"saved-later:{job.id}:{index}", customer, text,
                                                      "order_confirmation")]
            if self.admin:
                notices += [notice for index, text in enumerate(waiting.admin)
                            for notice in self.outbox.jobs(order_notice_id(waiting.order.key, index), self.admin,
                                                           text, "order")]
            try:
                stored = await self.orders.save(waiting.order, notices, self.now())
            except OrderStoreError as error:
                waiting = replace(waiting, attempt=waiting.attempt + 1)
                delay = self.policy.delay(min(waiting.attempt, 8))
                await self.queue.reschedule(job.id, waiting.to_json(), self.now() + delay)
                self.log.warning("⏳ El pedido sigue en espera (%s), otro intento en %.0f s", type(error).__name__, delay)
                continue
            self.outbox.news.set()
            await self.queue.finish(job.id, KEEP_SECONDS)
            self.log.info("🧾 Pedido #%s guardado (estaba en espera)", stored.number)
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
