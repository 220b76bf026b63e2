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
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""


def real_clock(timezone: str = "America/Mexico_City") -> Clock:
    zone = ZoneInfo(timezone)
    return lambda: datetime.now(zone)


def shifted(base: Clock, offset_seconds: Callable[[], float]) -> Clock:
    """``base`` moved forward by whatever ``offset_seconds()`` says at each call."""
    return lambda: base() + timedelta(seconds=offset_seconds())


def file_offset(path: Path) -> Callable[[], float]:
    """Seconds written in ``path`` (missing, empty or unreadable: 0), read again when it changes."""
    cache: dict[str, object] = {"stamp": None, "value": 0.0}

    def read() -> float:
        try:
            status = path.stat()
            stamp = (status.st_mtime_ns, status.st_size, status.st_ino)
            if stamp != cache["stamp"]:
                cache["value"] = float(path.read_text().strip() or 0)
                cache["stamp"] = stamp
        except (OSError, ValueError):
            return 0.0
        return float(cache["value"])  # type: ignore[arg-type]

    return read


def service_clock(timezone: str, test_clock_file: Path | None) -> Clock:
    """The clock the server uses: real, or shifted by the test file when one is configured."""
    clock = real_clock(timezone)
    return shifted(clock, file_offset(test_clock_file)) if test_clock_file is not None else clock
