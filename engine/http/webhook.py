"""``POST /webhook``: Twilio's incoming WhatsApp messages, answered with TwiML.

A request that is too big, malformed or wrongly signed is refused (413, 400, 403) before any
session is read. Whatever goes wrong after that, the customer gets the flows' apology in a 200:
Twilio does not retry a 5xx by default, and silence would leave the customer waiting.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from engine.channels.twilio.inbound import (
    Refused,
    parse_form,
    public_url,
    read_body,
    read_delivery,
    signed,
)
from engine.channels.twilio.twiml import twiml
from engine.http.wiring import services_of
from engine.runtime.phones import mask
from engine.storage.store import LockTimeout

TWIML = "application/xml"


async def webhook(request: Request) -> Response:
    services = services_of(request)
    settings, log = services.settings, services.log
    try:
        body = await read_body(request, settings.max_body_bytes)
        form = parse_form(body, request.headers.get("content-type"))
        if services.validator is not None:
            url = public_url(request, settings.public_url)
            if not signed(services.validator, request, url, form):
                log.warning("⛔ Webhook con firma inválida o sin firma: rechazado")
                raise Refused(403, "Firma inválida")
        delivery = read_delivery(form)
    except Refused as refused:
        if refused.log is not None:
            log.info(refused.log)
        return PlainTextResponse(refused.reason, status_code=refused.status)
    try:
        replies = await services.chat.answer(delivery)
    except LockTimeout:
        log.error("⏱️ Otro mensaje del mismo cliente tardó demasiado: se le pide volver a escribir")
        return Response(twiml((services.apology,), to=delivery.sender), media_type=TWIML)
    except Exception:
        # The message was not marked as handled: the customer may write again.
        log.exception("❗ Falla al atender un mensaje de %s", mask(delivery.sender))
        return Response(twiml((services.apology,), to=delivery.sender), media_type=TWIML)
    return Response(twiml(replies, to=delivery.sender), media_type=TWIML)


ROUTES = [Route("/webhook", webhook, methods=["POST"])]
