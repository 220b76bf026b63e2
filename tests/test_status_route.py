"""``POST /twilio/status`` against hostile callbacks: whatever a correctly signed request carries
(random unicode, control characters, repeated keys, odd numbers, huge values, bytes that are no
form), the answer is 200 or a 4xx, never a 5xx, nothing is sent and nothing is logged as an error.

The app is the one ``create_app`` builds, its lifespan entered in an event loop of its own (an
anyio portal thread) and requests sent through ``httpx.ASGITransport`` with the lifespan's state,
with SQLite orders in a temporary folder and the log sender. Hypothesis generates
the callbacks; the run is derandomized and bounded.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import anyio.from_thread
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servicekit import PUBLIC_URL, TOKEN
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator

from engine.channels.twilio.sender import LogSender
from engine.http.app import create_app
from engine.http.settings import load_settings
from engine.http.wiring import Given
from engine.orders.sqlite import SqliteOrderStore
from engine.testing.clock import ManualClock

URL = PUBLIC_URL + "/twilio/status"
VALIDATOR = RequestValidator(TOKEN)
FIELDS = ["MessageSid", "SmsSid", "MessageStatus", "SmsStatus", "ErrorCode", "AccountSid", "From", "To",
          "ApiVersion", "ChannelToAddress", "Extra"]
VALUES = ["SM" + "a" * 32, "MM" + "0" * 32, "SM" + "a" * 31, "sm" + "a" * 32, "delivered", "DELIVERED", "failed",
          "undelivered", "read", "sent", "queued", "paused", "63016", "²", "①", "-1", "1e309", "nan", "9" * 5000,
          "AC" + "1" * 32, "whatsapp:+5215512345678", "", " ", "\x00", "\ufffe", "<script>"]
SIDS = ["SM" + "a" * 32, "MM" + "0" * 32, "SM" + "A" * 32, "SM" + "a" * 31, "SM" + "g" * 32, ""]
STATUSES = ["queued", "sending", "sent", "delivered", "read", "undelivered", "failed", "FAILED", " failed", "paused"]
NUMBERS = ["63016", "63003", "30008", "0", "²", "①", "-1", "1e309", "nan", "9" * 5000, "", " 63016 "]
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
field = st.tuples(st.sampled_from(FIELDS) | any_text, st.sampled_from(VALUES) | any_text)
# Mostly callbacks that look right, so the odd parts are met past the first checks.
callback = st.fixed_dictionaries(
    {"MessageSid": st.sampled_from(SIDS) | any_text, "MessageStatus": st.sampled_from(STATUSES) | any_text},
    optional={"ErrorCode": st.sampled_from(NUMBERS) | any_text, "AccountSid": st.sampled_from(VALUES) | any_text,
              "SmsSid": st.sampled_from(SIDS), "SmsStatus": st.sampled_from(STATUSES)},
)
callbacks = st.tuples(callback, st.lists(field, max_size=6)).map(lambda parts: [*parts[0].items(), *parts[1]])


class Client:
    """Posts to the running app from these (synchronous) tests, through the app's own event loop."""

    def __init__(self, portal: anyio.from_thread.BlockingPortal, client: httpx.AsyncClient) -> None:
        self.portal, self.client = portal, client

    def post(self, path: str, content: bytes | str, headers: dict[str, str]) -> httpx.Response:
        return self.portal.call(lambda: self.client.post(path, content=content, headers=headers))


@asynccontextmanager
async def running(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: dict[str, Any], receive: Any, send: Any) -> None:
            scope["state"] = dict(state)  # as a server does: each request gets the lifespan's state
            await app(scope, receive, send)

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=with_state), base_url=PUBLIC_URL) as client:
            yield client


@pytest.fixture(scope="module")
def client(flows, tmp_path_factory) -> Iterator[Client]:
    environ = {"TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_URL": PUBLIC_URL, "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
               "ADMIN_PHONE_NUMBER": "+525598765432"}
    log = logging.getLogger("test.status_route")
    given_parts = Given(clock=ManualClock(datetime(2026, 11, 27, 14, 0, tzinfo=ZoneInfo("America/Mexico_City"))),
                        log=log, sender=LogSender(log),
                        orders=SqliteOrderStore(tmp_path_factory.mktemp("status") / "orders.sqlite3"),
                        callback_wait=0.0)  # a callback for an unknown message is ignored at once
    app = create_app(load_settings(environ), flows, given_parts)
    with anyio.from_thread.start_blocking_portal() as portal, portal.wrap_async_context_manager(running(app)) as http:
        yield Client(portal, http)


def signed_post(client: Client, pairs: list[tuple[str, str]]) -> int:
    signature = VALIDATOR.compute_signature(URL, ImmutableMultiDict(pairs))  # repeated keys signed as Twilio does
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    return client.post("/twilio/status", content=urlencode(pairs), headers=headers).status_code


@settings(max_examples=400, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pairs=callbacks)
def test_a_signed_callback_of_any_shape_is_answered_200(client, caplog, pairs):
    caplog.set_level(logging.INFO, logger="test.status_route")
    assert signed_post(client, pairs) == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@settings(max_examples=100, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=st.binary(max_size=300))
def test_bytes_that_are_no_form_get_a_4xx(client, body):
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Twilio-Signature": VALIDATOR.compute_signature(URL, {})}
    assert client.post("/twilio/status", content=body, headers=headers).status_code in (200, 400, 403)


def test_a_body_over_the_limit_is_413_and_nothing_was_sent(client, caplog):
    caplog.set_level(logging.INFO, logger="test.status_route")
    assert signed_post(client, [("MessageSid", "SM" + "a" * 32), ("Extra", "x" * 70_000)]) == 413
    assert "[sin Twilio]" not in caplog.text
