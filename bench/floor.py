"""The floor for the webhook benchmark: the least a Twilio webhook on Starlette + Redis can do.

Parses the form, does one Redis GET and one SET, answers TwiML. Served by ``bench/load.py`` with
``python -m uvicorn --app-dir bench floor:app``; ``REDIS_URL`` says which Redis.
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from typing import AsyncIterator

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.twiml.messaging_response import MessagingResponse


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Redis]]:
    client = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True)
    yield {"redis": client}
    await client.aclose()


async def webhook(request: Request) -> Response:
    form = await request.form()
    key = f"floor:{form.get('From', '')}"
    previous = await request.state.redis.get(key)
    await request.state.redis.set(key, str(form.get("Body", "")), ex=1800)
    reply = MessagingResponse()
    reply.message(f"Recibido ({'otra vez' if previous else 'primera vez'})")
    return Response(str(reply), media_type="application/xml")


async def health(request: Request) -> Response:
    return Response("ok")


app = Starlette(routes=[Route("/webhook", webhook, methods=["POST"]), Route("/health", health)], lifespan=lifespan)
