"""Where the admin's overrides (``#cerrar``, ``#agotado``...) are kept: declared once as
``OverridesStore``, kept in the shared store by ``StoredOverrides`` so every instance sees them at once."""

from __future__ import annotations

from typing import Protocol

from engine.runtime.overrides import OVERRIDES_KEY, Overrides
from engine.storage.store import Store


class OverridesStore(Protocol):
    async def load(self) -> Overrides: ...

    async def save(self, overrides: Overrides) -> None: ...


class StoredOverrides:
    """The admin's overrides in the shared store, so every instance sees them at once."""

    KEY = OVERRIDES_KEY  # the service reads it with each message, in the same round trip
    KEEP_SECONDS = 400 * 24 * 3600

    def __init__(self, store: Store) -> None:
        self._store = store

    async def load(self) -> Overrides:
        return Overrides.from_json(await self._store.get(self.KEY))

    async def save(self, overrides: Overrides) -> None:
        await self._store.set(self.KEY, overrides.to_json(), self.KEEP_SECONDS)
