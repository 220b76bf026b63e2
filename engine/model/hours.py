"""The flows as immutable typed records: what the loader builds once the files passed every check.

One small dataclass per concept and per step kind. Nothing here reads files: see ``loader``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

# ---------------------------------------------------------------- hours


@dataclass(frozen=True, slots=True)
class Opening:
    """One service: opens at ``opens`` and closes at ``closes`` (the next day when earlier)."""

    opens: time
    closes: time

    @property
    def crosses_midnight(self) -> bool:
        return self.closes <= self.opens


@dataclass(frozen=True, slots=True)
class Hours:
    timezone: str
    last_orders_minutes: int
    weekly: tuple[Opening | None, ...]
    """Monday first; None: closed all day."""
    special: dict[str, Opening | None]
    """ISO date -> the service that day replaces the weekly one."""
