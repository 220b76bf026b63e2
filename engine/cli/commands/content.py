"""``rinconcito content sync [--dir flows]``: the flows' buttons and lists made in Twilio.

Makes the Content templates the flows need (one per question offered as buttons or a list) in
the Twilio account of ``TWILIO_ACCOUNT_SID`` and ``TWILIO_AUTH_TOKEN``, finding the ones already
made instead of making them twice, and keeps their map in Redis (``REDIS_URL``) for the server;
the server does the same when it starts, so this is for seeing it done, or doing it ahead of a
deploy. Reads the same settings as the server (the environment and ``.env``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from engine.channels.twilio.content import ContentApiError
from engine.cli.report import load_or_report
from engine.http.content import ContentBusy, ContentTemplates, content_client
from engine.http.settings import SettingsError, load_settings
from engine.logs import LOGGER
from engine.runtime.choices_view import offers
from engine.storage.fallback import FallbackStore
from engine.storage.redis_line import RedisLine
from engine.storage.redis_store import RedisStore
from engine.storage.store import MemoryStore

WORDS = {
    "es": {
        "buttons": "botones", "list": "lista", "none": "texto", "created": "creada", "found": "ya estaba",
        "off": "sin botones (buttons: false)", "too_many": "texto: más opciones de las que caben en una lista",
        "no_credentials": "❌ Faltan TWILIO_ACCOUNT_SID y TWILIO_AUTH_TOKEN: sin ellas no hay botones (las opciones salen como texto).",
        "memory": "ℹ️  Sin REDIS_URL el mapa no se guarda: el servidor encontrará las plantillas en Twilio por su nombre.",
        "failed": "❌ No se pudieron preparar los botones en Twilio: {error}. Nada se pierde: las opciones salen como texto; vuelve a intentarlo.",
        "done": "✅ {n} plantillas para los flujos {hash} ({created} nuevas)",
    },
    "en": {
        "buttons": "buttons", "list": "list", "none": "text", "created": "created", "found": "already there",
        "off": "no buttons (buttons: false)", "too_many": "text: more options than a list holds",
        "no_credentials": "❌ TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are missing: without them there are no buttons (options go as text).",
        "memory": "ℹ️  Without REDIS_URL the map is not kept: the server will find the templates in Twilio by their name.",
        "failed": "❌ The buttons could not be made ready in Twilio: {error}. Nothing is lost: options go as text; try again.",
        "done": "✅ {n} templates for the flows {hash} ({created} new)",
    },
}


def run(args: argparse.Namespace) -> int:
    return asyncio.run(sync(Path(args.dir), args.lang, os.environ))


async def sync(directory: Path, lang: str, environ: Mapping[str, str]) -> int:
    words = WORDS[lang]
    flows = load_or_report(directory, lang)
    if flows is None:
        return 1
    try:
        settings = load_settings(environ, Path(".env"))
    except SettingsError as error:
        for line in error.problems:
            print(f"❌ {line}", file=sys.stderr)
        return 1
    client = content_client(settings)
    if client is None:
        print(words["no_credentials"], file=sys.stderr)
        return 1
    log = logging.getLogger(LOGGER)
    redis = RedisStore(RedisLine.from_url(settings.redis_url), settings.redis_key_prefix) if settings.redis_url else None
    store = FallbackStore(redis, MemoryStore(time.time), log, probe_every=settings.redis_probe_seconds)
    if redis is None:
        print(words["memory"])
    try:
        await store.start()
        prepared = await ContentTemplates(store, client, log).prepare(flows)
    except (ContentApiError, ContentBusy, ValueError) as error:
        print(words["failed"].format(error=error), file=sys.stderr)
        return 1
    finally:
        await client.aclose()
        await store.close()
    for offer in offers(flows):
        sid = prepared.content.sid_for(offer.key)
        if sid is None:
            why = words["off"] if offer.turned_off else words["too_many"]
            print(f"   {offer.key}: {why}")
        else:
            what = words["created"] if offer.key in prepared.created else words["found"]
            print(f"   {offer.key}: {words[offer.kind]} · {sid} · {what}")
    print(words["done"].format(n=len(prepared.content.sids), hash=flows.hash, created=len(prepared.created)))
    return 0
