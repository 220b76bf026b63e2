"""Clocks for tests: one that stands still until moved, and real time moved through a file.

The runtime never reads the clock; the service passes it ``now``. Tests move time without
sleeping: in-process by passing their own clock (``ManualClock``), and across processes with
``TEST_CLOCK_FILE`` (honoured only when ``APP_ENV=test``, see ``moved_by_file``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable


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


def moved_by_file(clock: Callable[[], datetime], path: Path) -> Callable[[], datetime]:
    """``clock`` moved forward by the number of seconds written in ``path``, looked at on every
    call: a test writes ``1860`` into it and the server lives 31 minutes later.

    The file is read again when its inode, size or modification time change: replace it (write a
    new file and rename it over the old one) so that even a change within the same clock tick
    shows. Missing, empty or unreadable: no offset.
    """
    offset = file_offset(path)
    return lambda: clock() + timedelta(seconds=offset())


def file_offset(path: Path) -> Callable[[], float]:
    """Seconds written in ``path`` (missing, empty or unreadable: 0), read again when it changes."""
    stamp: tuple[int, int, int] | None = None
    value = 0.0

    def read() -> float:
        nonlocal stamp, value
        try:
            status = path.stat()
            seen = (status.st_mtime_ns, status.st_size, status.st_ino)
            if seen != stamp:
                value = float(path.read_text().strip() or 0)
                stamp = seen
        except (OSError, ValueError):
            return 0.0
        return value

    return read
