"""Carrying out what the runtime asks of the outside world after a message: the one interface.

``engine.operations.Operations`` is the service's implementation: orders stored, notices sent
through the outbox, error reports throttled.
"""

from __future__ import annotations

from typing import Protocol

from engine.messages import Inbound, Outcome


class EffectRunner(Protocol):
    async def run(self, outcome: Outcome, inbound: Inbound) -> Outcome:
        """Carry out ``outcome.effects``; the outcome to answer with (order number filled in)."""
        ...
