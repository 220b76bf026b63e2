"""``POST /twilio/status``: Twilio's status callbacks for the messages the bot sent
(``engine.channels.twilio.statuses``), recorded by the courier.

A request that is too big, malformed or wrongly signed is refused (413, 400, 403), as on the
webhook; the signed URL is the public one (``PUBLIC_URL`` + this path). Any other callback is
answered 200 with nothing in it: one for an unknown or old message, another account, a status
that is no news, or one the store could not record (Twilio does not retry callbacks) changes
nothing and is only logged.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from engine.channels.twilio.inbound import Refused, parse_form, public_url, read_body, signed
from engine.channels.twilio.statuses import read_status
from engine.http.wiring import STATUS_CALLBACK_PATH, services_of

STATUS_PATH = STATUS_CALLBACK_PATH


async def status(request: Request) -> Response:
    services = services_of(request)
    settings, log = services.settings, services.log
    try:
        body = await read_body(request, settings.max_body_bytes)
        form = parse_form(body, request.headers.get("content-type"))
        if services.validator is not None:
            if not signed(services.validator, request, public_url(request, settings.public_url), form):
                log.warning("⛔ Aviso de estado con firma inválida o sin firma: rechazado")
                raise Refused(403, "Firma inválida")
    except Refused as refused:
        if refused.log is not None:
            log.info(refused.log)
        return PlainTextResponse(refused.reason, status_code=refused.status)
    report = read_status(form)
    if report is None:
        log.info("📭 Aviso de estado sin mensaje o con un estado desconocido: se ignora")
    elif settings.twilio_account_sid is not None and report.account not in (None, settings.twilio_account_sid):
        log.warning("📭 Aviso de estado de otra cuenta de Twilio: se ignora")
    else:
        try:
            await services.courier.track(report.sid, report.status, report.code)
        except Exception:  # noqa: BLE001  the store failing must not make a 500; Twilio would not retry
            log.exception("❗ No se pudo registrar el estado «%s» de un mensaje", report.status)
    return Response(status_code=200)


ROUTES = [Route(STATUS_PATH, status, methods=["POST"])]
