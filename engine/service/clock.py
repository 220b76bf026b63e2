"""The service's clock: real time in the restaurant's zone.

The runtime never reads the clock; the service passes it ``now``. Tests bring their own clock
(``engine.testing.clock``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""


def real_clock(timezone: str = "America/Mexico_City") -> Clock:
    zone = ZoneInfo(timezone)
    return lambda: datetime.now(zone)
