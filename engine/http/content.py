"""The flows' buttons and lists made ready in Twilio when the service starts (or by
``rinconcito content sync``): once for every instance, kept per version of the flows.

The templates themselves are ``engine.channels.twilio.content``'s; this is the part that needs
the shared ``Store``:

- the map of one version (question -> Content SID) is kept under ``content:<flows hash>``, so a
  restart finds it; each SID in it is fetched to see Twilio still has it (someone may delete a
  template in Twilio's console), and a missing one is made again;
- making the templates runs under a lock in the Store (``content-lock:<flows hash>``): two
  instances starting together do not both make them, the second waits and reads the first's map;
- without the map (a fresh Redis, memory only) the templates are found in Twilio by name.

When none of that works (no Twilio credentials, the Content API failing, another instance taking
too long) the service goes on without the templates and says so once in its log: every question
then goes out as numbered text, as without buttons, and the next start tries again.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass

from engine.channels.twilio.content import ContentApi, ContentApiError, ContentMap, sync_content
from engine.http.settings import Settings
from engine.runtime.flows import Flows
from engine.storage.store import Release, Store

MAP_KEY = "content:"
"""+ the flows' hash: that version's map, as JSON."""
LOCK_KEY = "content-lock:"
"""+ the flows' hash: held by the instance making that version's templates."""
KEEP_SECONDS = 90 * 24 * 3600.0
"""A version's map is kept this long after its last start (sessions of old versions end long before)."""
LOCK_SECONDS = 60.0
"""A crashed holder's lock frees itself after this long (making ten templates takes a few seconds)."""
WAIT_SECONDS = 90.0
"""How long an instance waits for another one making the same templates before going on without them."""
POLL = (0.05, 1.0)
"""First and longest pause between two looks at the lock."""
TEXT_ONLY = "las opciones salen como texto numerado"


class ContentBusy(Exception):
    """Another instance held the lock for longer than this one would wait."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """What preparing the templates came to."""

    content: ContentMap
    created: tuple[str, ...] = ()
    """Questions whose template was made now."""
    found: tuple[str, ...] = ()
    """Questions whose template was already there."""


def content_client(settings: Settings) -> ContentApi | None:
    """A client for the account's Content API; None without the account SID and auth token, and
    under ``APP_ENV=test`` without ``TWILIO_CONTENT_API_BASE`` (a test server never calls Twilio)."""
    token = str(settings.twilio_auth_token) if settings.twilio_auth_token else None
    if not settings.twilio_account_sid or not token:
        return None
    if settings.app_env == "test" and settings.twilio_content_api_base is None:
        return None
    # Optional integration: the client and httpx load only when Twilio's credentials are set.
    from engine.channels.twilio.content_api import CONTENT_API, ContentClient

    return ContentClient(settings.twilio_account_sid, token, base=settings.twilio_content_api_base or CONTENT_API)


class ContentTemplates:
    """Makes ready the templates of a version of the flows, with ``store`` shared by every instance."""

    def __init__(
        self, store: Store, client: ContentApi, log: logging.Logger,
        wait: float = WAIT_SECONDS, lock_seconds: float = LOCK_SECONDS,
    ) -> None:
        self._store, self._client, self._log = store, client, log
        self._wait, self._lock_seconds = wait, lock_seconds

    async def prepare(self, flows: Flows) -> Prepared:
        """The templates of ``flows``, made if need be (``ContentApiError``, ``ContentBusy``)."""
        kept = await self._kept(flows)
        if kept is not None and await self._still_there(kept):
            await self._store.set(MAP_KEY + flows.hash, kept.to_json(), KEEP_SECONDS)
            return Prepared(kept, found=tuple(kept.sids))
        token = secrets.token_hex(8)
        made = await self._take_lock(flows, token, stale=kept)
        if made is not None:  # another instance made them while this one waited
            return Prepared(made, found=tuple(made.sids))
        try:
            synced = await sync_content(flows, self._client)
            await self._store.set(MAP_KEY + flows.hash, synced.content.to_json(), KEEP_SECONDS)
            return Prepared(synced.content, synced.created, synced.found)
        finally:
            await self._store.run([Release(LOCK_KEY + flows.hash, token)])

    async def _kept(self, flows: Flows) -> ContentMap | None:
        kept = ContentMap.from_json(await self._store.get(MAP_KEY + flows.hash))
        return kept if kept is not None and kept.covers(flows) else None

    async def _still_there(self, kept: ContentMap) -> bool:
        found = await asyncio.gather(*(self._client.fetch(sid) for sid in kept.sids.values()))
        return all(resource is not None for resource in found)

    async def _take_lock(self, flows: Flows, token: str, stale: ContentMap | None) -> ContentMap | None:
        """None once this instance holds the lock; the map when another instance made it meanwhile
        (not ``stale``, the kept one found wanting)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        pause, longest = POLL
        first = True
        while not await self._store.set_if_absent(LOCK_KEY + flows.hash, token, self._lock_seconds):
            if first:
                self._log.info("📋 Otra instancia prepara los botones de estos flujos: la espero")
                first = False
            if loop.time() + pause > deadline:
                raise ContentBusy(f"otra instancia lleva más de {self._wait:.0f} s preparando los botones")
            await asyncio.sleep(pause)
            pause = min(pause * 2, longest)
            kept = await self._kept(flows)
            if kept is not None and kept != stale:
                return kept
        return None


async def content_at_start(flows: Flows, store: Store, client: ContentApi | None, log: logging.Logger) -> ContentMap:
    """The templates of ``flows`` for the sender; an empty map (numbered text) when they cannot be
    had, said once in the log. Never raises for Twilio (``store``: the service's ``FallbackStore``,
    which does not raise either)."""
    if client is None:
        log.info("📋 Sin TWILIO_ACCOUNT_SID y TWILIO_AUTH_TOKEN no hay botones: %s", TEXT_ONLY)
        return ContentMap(flows.hash)
    try:
        prepared = await ContentTemplates(store, client, log).prepare(flows)
    except (ContentApiError, ContentBusy, ValueError) as error:
        log.warning("⚠️ No se pudieron preparar los botones en Twilio (%s): %s hasta el próximo arranque", error, TEXT_ONLY)
        return ContentMap(flows.hash)
    log.info("📋 Botones y listas en Twilio para los flujos %s: %d plantillas (%d nuevas)",
             flows.hash, len(prepared.content.sids), len(prepared.created))
    return prepared.content
