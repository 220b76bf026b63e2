"""The live feed: what a board is showing, looked up in shared state (the order store and the
shared store) every few seconds, so a change made through any instance reaches every board."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable


async def versions(current: Callable[[], Awaitable[str]], every: float, log: logging.Logger) -> AsyncIterator[str]:
    """The version now, then each new one as it appears. A failed look-up is logged and tried
    again on the next round (the board keeps what it shows)."""
    last: str | None = None
    while True:
        try:
            version = await current()
        except Exception:  # noqa: BLE001  the order store may be away for a while
            log.exception("❗ El panel no pudo leer los pedidos")
            version = None
        if version is not None and version != last:
            last = version
            yield version
        await asyncio.sleep(every)
