"""Sending WhatsApp messages outside the TwiML reply: through Twilio's REST API, or to the log.

``Sender`` is what the outbox sends with; ``sender_for`` picks one from the settings:
``engine.channels.twilio.rest.TwilioSender`` (twilio's aiohttp client, imported only then) when
Twilio's credentials are set, else ``LogSender``. A send never raises for a failure Twilio or the
network reports: it returns a ``SendResult`` (``engine.channels.twilio.errors``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from itertools import count
from typing import Protocol

from engine.channels.twilio.errors import SendResult as SendResult
from engine.channels.twilio.errors import SendVerdict
from engine.logs import safe
from engine.runtime.phones import mask, whatsapp_id


class Sender(Protocol):
    async def send(self, to: str, body: str) -> SendResult:
        """Send ``body`` to ``to`` (``whatsapp:+52...`` or ``+52...``)."""
        ...

    async def send_template(self, to: str, content_sid: str, variables: Mapping[str, str]) -> SendResult:
        """Send the approved content template ``content_sid`` with ``variables`` ({"1": ...})."""
        ...

    async def aclose(self) -> None: ...


def whatsapp_address(to: str) -> str:
    """Where to send: a number (in any of its forms) as WhatsApp names it."""
    return whatsapp_id(to)


class LogSender:
    """For local runs without Twilio credentials: every send is written to the log, marked."""

    def __init__(self, log: logging.Logger, limit: int = 2000) -> None:
        self._log = log
        self._limit = limit
        self._ids = count(1)

    async def send(self, to: str, body: str) -> SendResult:
        # Escaped (safe) so a multi-line message stays one log line.
        self._log.info("📤 [sin Twilio] mensaje para %s: %s", mask(whatsapp_address(to)), safe(body, self._limit))
        return SendResult(SendVerdict.SENT, sid=f"LOG{next(self._ids):06d}")

    async def send_template(self, to: str, content_sid: str, variables: Mapping[str, str]) -> SendResult:
        self._log.info(
            "📤 [sin Twilio] plantilla %s para %s: %s",
            content_sid, mask(whatsapp_address(to)), safe(json.dumps(dict(variables), ensure_ascii=False), self._limit),
        )
        return SendResult(SendVerdict.SENT, sid=f"LOG{next(self._ids):06d}")

    async def aclose(self) -> None:
        return None


def sender_for(
    account_sid: str | None,
    auth_token: str | None,
    from_: str | None,
    log: logging.Logger,
    timeout: float | None = None,
    api_base: str | None = None,
    status_callback: str | None = None,
) -> Sender:
    """``TwilioSender`` when all three Twilio settings are given, else ``LogSender`` (local runs).
    ``timeout``: seconds per request (None: ``SEND_TIMEOUT``). ``api_base``: tests only, a local
    fake of Twilio's API. ``status_callback``: see ``TwilioSender``.

    Whether a half-configured Twilio is acceptable is the settings' call (production should
    refuse it); here it is said once, loudly, so a missing variable is not a silent log-only bot.
    """
    if account_sid and auth_token and from_:
        # Optional integration: aiohttp and twilio's REST client load only when Twilio is configured.
        from engine.channels.twilio.rest import SEND_TIMEOUT, BaseUrlTwilioHttpClient, TwilioSender

        seconds = SEND_TIMEOUT if timeout is None else timeout
        if api_base:
            return TwilioSender(account_sid, auth_token, from_, log, seconds, lambda: BaseUrlTwilioHttpClient(api_base),
                                status_callback)
        return TwilioSender(account_sid, auth_token, from_, log, seconds, status_callback=status_callback)
    if account_sid or auth_token or from_:
        log.warning(
            "⚠️ Faltan datos de Twilio (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN y TWILIO_WHATSAPP_CLIENTES "
            "van juntos): los mensajes solo se escriben en el log"
        )
    return LogSender(log)
