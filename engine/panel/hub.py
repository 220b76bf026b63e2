"""What the panel keeps beside the service, built once in the app's lifespan: the log of
taken-over conversations and the day's step tally, and the wrappers that feed them."""

from __future__ import annotations

import logging

from engine.panel.conversations import HeldConversations, RecordedTakeover, Send
from engine.panel.funnel import StepTally
from engine.panel.observe import ObservedEffects
from engine.runtime.flows import Flows
from engine.service.clock import Clock
from engine.service.effects import EffectRunner
from engine.service.takeover import CustomerTakeover
from engine.storage.store import Store


class PanelHub:
    def __init__(self, store: Store, send: Send, clock: Clock, flows: Flows, log: logging.Logger) -> None:
        now = lambda: clock().timestamp()  # noqa: E731
        self.store = store
        self.conversations = HeldConversations(store, send, now)
        self.tally = StepTally(store, flows.hours.timezone, flows.restaurant.session_minutes, now, log)
        self._log = log

    def takeover(self, inner: CustomerTakeover) -> RecordedTakeover:
        """``#tomar``/``#soltar`` and the panel's release, kept in the conversation log."""
        return RecordedTakeover(inner, self.conversations)

    def effects(self, inner: EffectRunner) -> ObservedEffects:
        return ObservedEffects(inner, self.conversations, self.tally, self._log)

    async def aclose(self) -> None:
        try:
            await self.tally.flush()
        except Exception:  # noqa: BLE001  stopping goes on
            self._log.exception("❗ El panel no pudo guardar el conteo de conversaciones")
