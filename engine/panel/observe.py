"""What the panel learns from each answered message, without changing it: a wrapper around the
service's ``EffectRunner`` that keeps taken-over conversations and notes where each customer is."""

from __future__ import annotations

import logging
from datetime import datetime

from engine.model.effects import ForwardToAdmin, HandOver, Outcome
from engine.model.inbound import Inbound
from engine.panel.conversations import HeldConversations
from engine.panel.funnel import StepTally
from engine.service.effects import EffectRunner


class ObservedEffects:
    """Runs ``inner``, then records hand-overs, forwarded messages and the customer's step. What
    the panel fails to record is logged; the customer's answer does not depend on it."""

    def __init__(self, inner: EffectRunner, conversations: HeldConversations, tally: StepTally, log: logging.Logger) -> None:
        self._inner = inner
        self._conversations = conversations
        self._tally = tally
        self._log = log

    async def run(self, outcome: Outcome, inbound: Inbound) -> Outcome:
        result = await self._inner.run(outcome, inbound)
        try:
            for effect in outcome.effects:
                if isinstance(effect, HandOver):
                    until = datetime.fromisoformat(effect.until).timestamp()
                    await self._conversations.held_by_person(effect.customer, until, effect.recent)
                elif isinstance(effect, ForwardToAdmin):
                    await self._conversations.said(effect.customer, "cliente", effect.text or "📍 (ubicación)")
            self._tally.note(inbound.customer, getattr(result.session, "step", None), outcome.order is not None)
            await self._tally.flush_due()
        except Exception:  # noqa: BLE001  the panel's bookkeeping must not cost the customer their answer
            self._log.exception("❗ El panel no pudo guardar la conversación")
        return result
