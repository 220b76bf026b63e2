"""The service's logs: plain lines (``✅ Sesión actualizada para whatsapp:+52155****5678``) or
one JSON object per line (``LOG_FORMAT=json``) for a log collector.

Nothing a customer wrote is logged; what comes from a request (a masked number) goes through
``safe`` so it cannot forge a log line.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import TextIO

LOGGER = "rinconcito"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-11-27 14:00:00 INFO    message``; the time is written once a second, not once a line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(message)s", "%Y-%m-%d %H:%M:%S")
        self._second: int | None = None
        self._time = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:  # handlers format under their lock: no race here
            self._time = super().formatTime(record, datefmt)
            self._second = second
        return self._time


def configure_logging(level: str = "INFO", format: str = "text", stream: TextIO | None = None) -> logging.Logger:
    """Send every log (ours, uvicorn's, redis-py's) to ``stream`` in ``format``; our logger."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # twilio logs every request's URL (it names the account) and headers at INFO: not for our logs.
    logging.getLogger("twilio").setLevel(max(logging.WARNING, root.level))
    return logging.getLogger(LOGGER)


def safe(text: str, limit: int = 80) -> str:
    """``text`` fit for a log line: anything unprintable escaped, at most ``limit`` characters."""
    text = text[:limit]
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
