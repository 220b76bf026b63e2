"""``TwilioSender``: WhatsApp messages through Twilio's REST API, with twilio's aiohttp client.

It uses twilio's own ``AsyncTwilioHttpClient`` (aiohttp) rather than the sync client in a worker
thread: a send is mostly waiting on the network, the webhook service already runs an event loop,
and an async call can be cancelled on a deadline, while a thread stuck in ``requests`` cannot be
stopped and holds a pool slot until its socket gives up.

A send never raises for a failure Twilio or the network reports: it returns a ``SendResult``
whose ``verdict`` comes from ``engine.channels.twilio.errors.classify``, so the outbox decides
what to do with it without knowing about twilio's exceptions.

This module (aiohttp and twilio's REST client: ≈ 0.2 s of CPU and ≈ 13 MB resident to import) is loaded
only when Twilio's credentials are set: ``engine.channels.twilio.sender.sender_for``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http import AsyncHttpClient
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from engine.channels.twilio.errors import SendResult, SendVerdict, classify, describe
from engine.runtime.phones import mask, whatsapp_id

SEND_TIMEOUT = 10.0
"""Seconds for one request to Twilio (it answers in well under a second when it is well)."""

_FAILED_STATUSES = ("failed", "undelivered")


class TwilioSender:
    """Sends from ``from_`` (``TWILIO_WHATSAPP_CLIENTES``, ``whatsapp:+...``) with the REST API.

    ``http_client`` builds twilio's HTTP client; it is called on the first send, inside the event
    loop, because aiohttp's session must be created in the loop that uses it. Tests pass one that
    points at a local fake of the API (``tests/twilio_fake.py``); production leaves the default.

    ``status_callback``: the URL Twilio posts each message's later statuses to (``PUBLIC_URL`` +
    ``/twilio/status``), asked for with every send; None: Twilio reports nothing later.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_: str,
        log: logging.Logger,
        timeout: float = SEND_TIMEOUT,
        http_client: Callable[[], AsyncHttpClient] = AsyncTwilioHttpClient,
        status_callback: str | None = None,
    ) -> None:
        if not account_sid or not auth_token or not from_:
            raise ValueError("TwilioSender needs the account SID, the auth token and the sender number")
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._from = whatsapp_id(from_)
        self._log = log
        self._timeout = timeout
        self._make_http_client = http_client
        self._status_callback = status_callback
        self._client: Client | None = None

    def __repr__(self) -> str:  # never the token, even in a traceback
        return f"TwilioSender(from_={mask(self._from)!r})"

    def _twilio(self) -> Client:
        if self._client is None:
            # environment={}: twilio would otherwise read TWILIO_REGION/TWILIO_EDGE from os.environ
            # and quietly send elsewhere; what this class uses comes through its arguments.
            self._client = Client(
                self._account_sid, self._auth_token, http_client=self._make_http_client(), environment={}
            )
        return self._client

    async def send(self, to: str, body: str) -> SendResult:
        return await self._create(to, body=body)

    async def send_template(self, to: str, content_sid: str, variables: Mapping[str, str]) -> SendResult:
        return await self._create(to, content_sid=content_sid, content_variables=json.dumps(dict(variables)))

    async def _create(self, to: str, **fields: Any) -> SendResult:
        address = whatsapp_id(to)
        if self._status_callback is not None:
            fields["status_callback"] = self._status_callback
        try:
            # AsyncTwilioHttpClient ignores its own timeout setting, so the deadline is kept here.
            async with asyncio.timeout(self._timeout):
                message = await self._twilio().messages.create_async(from_=self._from, to=address, **fields)
        except (TwilioRestException, TwilioServiceException) as error:
            code = error.code if isinstance(error.code, int) and error.code != error.status else None
            return _failure(error.status, code)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            return _failure(None, None, type(error).__name__)
        # A resource can come back already failed (Twilio checked the number at once).
        if message.status in _FAILED_STATUSES and message.error_code:
            return _failure(400, int(message.error_code))
        return SendResult(SendVerdict.SENT, sid=message.sid)

    async def aclose(self) -> None:
        if self._client is not None:
            http = self._client.http_client
            self._client = None
            if isinstance(http, AsyncTwilioHttpClient):
                await http.close()


class BaseUrlTwilioHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]  # twilio has no types
    """twilio's async HTTP client with ``https://api.twilio.com`` replaced by ``base``.

    twilio-python has no base-URL setting; this is how tests (and a local fake of the API) are
    reached. Production never builds one: it is only used when a base URL is configured.
    """

    TWILIO_API = "https://api.twilio.com"

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base.rstrip("/")

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.startswith(self.TWILIO_API):
            url = self.base + url[len(self.TWILIO_API):]
        return await super().request(method, url, *args, **kwargs)


def _failure(status: int | None, code: int | None, cause: str = "") -> SendResult:
    detail = describe(status, code) + (f" ({cause})" if cause else "")
    return SendResult(classify(status, code), status=status, code=code, detail=detail)
