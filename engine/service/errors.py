"""Errors customers hit, told to the admin: each kind at most once per ``window`` seconds, with a
count of the ones held back."""

from __future__ import annotations

import logging
from collections.abc import Callable

from engine.runtime.flows import Flows
from engine.runtime.phones import mask
from engine.service.courier import Undeliverable
from engine.service.outbox import REPORT_KIND, Outbox, event_id
from engine.storage.store import Store

ERROR_WINDOW = 600
"""Seconds during which the same kind of error is told to the admin only once."""


class ErrorReports:
    """Tells the admin about errors customers hit, throttled per kind of error (in ``store``, so
    every instance holds back the same ones)."""

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
        # REPORT_KIND: if this notice cannot be sent either, the courier only logs it (no report of a report).
        await self.outbox.enqueue(f"error:{event_id(kind, window_start)}", self.admin, text, REPORT_KIND)

    async def undeliverable(self, failure: Undeliverable) -> None:
        """The courier's ``Report``: a message it gave up on."""
        await self.report(failure.to, f"envío fallido: {failure.describe()}")
