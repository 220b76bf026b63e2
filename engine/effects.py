"""Carrying out what the runtime asks of the outside world after a message.

``EffectRunner`` is the one interface; storing orders and sending WhatsApp messages to the admin
come with the order handling. Until then ``LoggingEffects`` numbers each order (sequentially from
1001, shared between instances through the ``Store``) and logs every effect without the
customer's words.
"""

from __future__ import annotations

import logging
from typing import Protocol

from engine.messages import (
    ForwardToAdmin,
    HandOver,
    Inbound,
    NotifyAdmin,
    Outcome,
    ReportError,
    SaveOrder,
)
from engine.phones import WHATSAPP_PREFIX, mask
from engine.store import Store

FIRST_ORDER_NUMBER = 1001
ORDER_KEY_SECONDS = 7 * 24 * 3600


class EffectRunner(Protocol):
    async def run(self, outcome: Outcome, inbound: Inbound) -> Outcome:
        """Carry out ``outcome.effects``; the outcome to answer with (order number filled in)."""
        ...


class LoggingEffects:
    def __init__(self, store: Store, log: logging.Logger) -> None:
        self._store = store
        self._log = log

    async def order_number(self, order_key: str) -> int:
        """The number of the order with ``order_key``: the same number however often it is saved."""
        known = await self._store.get(f"order:{order_key}")
        if known is not None:
            return int(known)
        number = FIRST_ORDER_NUMBER - 1 + await self._store.incr("orders:counter")
        if not await self._store.set_if_absent(f"order:{order_key}", str(number), ORDER_KEY_SECONDS):
            return int(await self._store.get(f"order:{order_key}") or number)
        return number

    async def run(self, outcome: Outcome, inbound: Inbound) -> Outcome:
        who = mask(WHATSAPP_PREFIX + inbound.customer)
        for effect in outcome.effects:
            if isinstance(effect, SaveOrder):
                order = effect.order
                number = await self.order_number(order.key)
                outcome = outcome.with_order_number(number)
                self._log.info(
                    "🧾 Pedido #%s para %s: %d platillos, total $%s, %s",
                    number, who, sum(line.quantity for line in order.lines), order.total, order.fulfilment,
                )
            elif isinstance(effect, NotifyAdmin):
                self._log.info("📣 Aviso para el encargado (%s, %d caracteres)", effect.kind, len(effect.text))
            elif isinstance(effect, HandOver):
                self._log.info("🙋 %s pasa con una persona hasta %s", who, effect.until)
            elif isinstance(effect, ForwardToAdmin):
                self._log.info("📨 Mensaje de %s para el encargado (%d caracteres)", who, len(effect.text))
            elif isinstance(effect, ReportError):
                self._log.error("❗ Error al atender a %s: %s", who, effect.what.replace("\n", " ")[:200])
        return outcome
