"""The service's clock: real time in the restaurant's zone, or real time moved by a test.

The runtime never reads the clock; the service passes it ``now``. Tests move time without
sleeping: in-process by passing their own clock, and across processes with ``TEST_CLOCK_FILE``
(honoured only when ``APP_ENV=test``): a file holding a number of seconds added to the real time,
looked at on every call, so a test writes ``1860`` into it and the server lives 31 minutes later.
The file is read again when its inode, size or modification time change: replace it (write a
new file and rename it over the old one) so that even a change within the same clock tick shows.
"""

from __future__ import annotations

from datetime import datetime, timedelta


class ManualClock:
    """A clock that stands still until told to move (for in-process tests and the benchmark)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
