"""Hostile webhooks against the real app: whatever a correctly signed request carries, the answer
is a 2xx or a 4xx, never a 5xx, and every 200 is well-formed TwiML.

The app is the one ``create_app`` builds (memory sessions, SQLite orders in a temporary folder,
the log sender), its lifespan entered in an event loop of its own (an anyio portal thread, where
its workers keep running) and requests sent through ``httpx.ASGITransport`` with the lifespan's
state, as a server hands it; its clock stands on Friday 27 November 2026 at 14:00 in Mexico City
(open). The rate limits are off, so every message reaches the flows.
Hypothesis generates the requests: random unicode and control characters in every field, numbers
such as ``²``, ``①``, ``-0``, ``1e309`` and ``nan``, repeated keys, huge values, raw bytes that are
no form at all. The run is derandomized (the same requests on every machine) and bounded.

Each request's expected status comes from the rules the webhook documents (engine/channels/
twilio/inbound.py), written here on their own: a WhatsApp ``From``, no field the bot reads given
twice, a ``MessageSid`` that can be one, a body within ``MAX_BODY_BYTES``. A 200 hides no failure
either: the app answers a crash with the flows' apology, so any ERROR in its log fails the test.
"""

from __future__ import annotations

import itertools
import logging
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode
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
from engine.runtime.flows import Flows
from engine.testing.clock import ManualClock

FRIDAY_LUNCH = datetime(2026, 11, 27, 14, 0, tzinfo=ZoneInfo("America/Mexico_City"))
ADMIN = "+525598765432"
EXAMPLES = 1200
LIMIT = 64 * 1024
VALIDATOR = RequestValidator(TOKEN)
URL = PUBLIC_URL + "/webhook"
SIDS = itertools.count(1)

READ = ("From", "Body", "ButtonText", "ButtonPayload", "ProfileName", "MessageSid", "NumMedia",
        "Latitude", "Longitude", "Label", "Address")
OTHER = ("WaId", "To", "SmsMessageSid", "AccountSid", "ApiVersion", "MediaUrl0", "MediaContentType0")
WHATSAPP = re.compile(r"(?:whatsapp:)?\+[1-9][0-9]{6,14}")
SID = re.compile(r"[A-Za-z0-9_-]{1,64}")

CUSTOMERS = ["whatsapp:+5215512345678", "whatsapp:+525511112222", "+5215533334444", "whatsapp:+14155550100",
             "whatsapp:+5215598765432"]  # the last one is the admin, as WhatsApp writes a Mexican mobile
PHRASES = ["hola", "menú", "2 pastor", "1 pastor maiz con todo", "harina", "maíz", "sin cebolla", "listo",
           "a domicilio", "paso por él", "Carmen", "Calle Roma 12, int. 3", "este", "efectivo", "con tarjeta",
           "sí", "no", "cancelar", "ayuda", "1", "2", "3", "#pedidos", "#ayuda", "#pedido 1001", "#listo 1001",
           "#preparando 1001", "#agotado flan", "#disponible flan", "#abrir", "#tomar +52 55 1234 5678",
           "#soltar +52 55 1234 5678"]
CONTROLS = [chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\u2028", "\u202e", "\ufeff", "\ufffe", "\uffff", "\ufffd"]
NUMBERS = ["²", "①", "٣", "-0", "+0", "1e309", "-1e309", "nan", "NaN", "inf", "-inf", "0x1", "1_0", "", " ", "0", "1",
           "3", "10", "999", "1000", "9" * 5000, "19.4326", "-99.1332", "90", "-90.0", "180", "180.0000001", "٩٩",
           "19.4326\x00", "\t19.4\n", "1,5", "१२"]


# --- what a request is made of ------------------------------------------------------------

any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)  # surrogates cannot be UTF-8


@st.composite
def spiked(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    """A value of ``base`` with control characters (and other odd ones) pushed in anywhere."""
    text = draw(base)
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(CONTROLS)) * draw(st.integers(1, 3)) + text[at:]
    return text


huge = st.builds(lambda char, size: char * size, st.sampled_from(["a", "ñ", "🌮", "\x00", " ", "\n", "&", "<"]),
                 st.sampled_from([101, 301, 1700, 4097, 20_000, 70_000]))
text_value = st.one_of(spiked(st.sampled_from(PHRASES)), spiked(any_text), st.sampled_from(PHRASES), huge)
number_value = st.one_of(st.sampled_from(NUMBERS), spiked(st.sampled_from(NUMBERS)), any_text)


def mostly(usual: st.SearchStrategy[str], odd: st.SearchStrategy[str], odds: int = 4) -> st.SearchStrategy[str]:
    """``usual`` about ``odds`` times in ``odds + 1``, else ``odd``."""
    return st.integers(0, odds).flatmap(lambda roll: odd if roll == 0 else usual)


FRESH = "fresh"
"""A MessageSid drawn as this becomes a new one (``SM`` and 32 hex digits) when the request is made:
hypothesis would draw the same few sids again and again, and a repeated sid is answered by nothing."""
sender_value = mostly(
    st.sampled_from(CUSTOMERS),
    st.one_of(
        spiked(st.sampled_from(CUSTOMERS)), st.sampled_from(CUSTOMERS).map(lambda c: f" {c}\r\n"),
        st.sampled_from(["", "whatsapp:", "whatsapp:+52155١٢٣٤٥٦٧٨", "sms:+5215512345678", "whatsapp:+1", "Ana"]),
        any_text,
    ),
)
sid_value = mostly(st.just(FRESH), st.one_of(st.just(""), spiked(st.just("SM1")), any_text, huge))
VALUES: dict[str, st.SearchStrategy[str]] = {
    "From": sender_value, "MessageSid": sid_value, "NumMedia": number_value, "Latitude": number_value,
    "Longitude": number_value,
}


@st.composite
def forms(draw: st.DrawFn) -> list[tuple[str, str]]:
    """The fields of one webhook, in order, some of them perhaps twice."""
    names = ["From", "Body", "MessageSid"] + draw(st.lists(st.sampled_from(READ + OTHER), max_size=8, unique=True))
    names += draw(st.lists(spiked(any_text), max_size=2))  # unknown keys, odd ones too
    if draw(st.integers(0, 19)) == 0:
        names.remove("From")
    pairs = [(name, draw(VALUES.get(name, text_value))) for name in dict.fromkeys(names)]
    if draw(st.integers(0, 7)) == 0:  # keys given again, the same value or another
        for _ in range(draw(st.integers(1, 2))):
            name, value = draw(st.sampled_from(pairs))
            pairs.append((name, draw(st.one_of(st.just(value), VALUES.get(name, text_value)))))
    return draw(st.permutations(pairs))


@st.composite
def requests(draw: st.DrawFn) -> tuple[bytes, dict[str, str], int | None]:
    """A body, its headers, and the status the webhook's rules give it (None: any 4xx will do)."""
    if draw(st.integers(0, 19)) == 0:  # no proper form: raw bytes, or UTF-8 that cannot be
        body = draw(st.one_of(st.binary(max_size=200), st.sampled_from(
            [b"From=%ED%A0%80", b"Body=%FF%FE&From=%2B5215512345678", b"From&&Body", b"=\xff", b"%"])))
        try:
            fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
        except ValueError:
            fields = []
        return body, signed_headers(fields), None
    pairs = [(name, f"SM{next(SIDS):032x}" if value == FRESH else value) for name, value in draw(forms())]
    body = urlencode(pairs).encode("ascii")
    return body, signed_headers(pairs), expected_status(pairs, body)


def signed_headers(pairs: list[tuple[str, str]]) -> dict[str, str]:
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": VALIDATOR.compute_signature(URL, ImmutableMultiDict(pairs)),
    }


def expected_status(pairs: list[tuple[str, str]], body: bytes) -> int:
    if len(body) > LIMIT:
        return 413
    if len(pairs) > 200:
        return 400
    counts = Counter(name for name, _ in pairs)
    if any(counts[name] > 1 for name in READ):
        return 400
    fields = dict(pairs)
    if not WHATSAPP.fullmatch(fields.get("From", "").strip(" \t\r\n")):
        return 400
    sid = fields.get("MessageSid", "").strip(" \t\r\n")
    if sid and not SID.fullmatch(sid):
        return 400
    return 200


# --- the app ------------------------------------------------------------------------------

class Errors(logging.Handler):
    """Keeps what the app logs at ERROR or above: a 200 apology may hide a crash."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def errors() -> Iterator[Errors]:
    handler = Errors()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


@asynccontextmanager
async def running(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: dict[str, Any], receive: Any, send: Any) -> None:
            scope["state"] = dict(state)  # as a server does: each request gets the lifespan's state
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL, timeout=20) as client:
            yield client


class Webhook:
    """Posts to the running app from this (synchronous) test, through the app's own event loop."""

    def __init__(self, portal: anyio.from_thread.BlockingPortal, client: httpx.AsyncClient) -> None:
        self.portal, self.client = portal, client

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.portal.call(lambda: self.client.post("/webhook", content=body, headers=headers))


@pytest.fixture(scope="module")
def webhook(flows: Flows, tmp_path_factory: pytest.TempPathFactory, errors: Errors) -> Iterator[Webhook]:
    folder = tmp_path_factory.mktemp("hostile")
    settings_ = load_settings({
        "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_URL": PUBLIC_URL, "ADMIN_PHONE_NUMBER": ADMIN,
        "RATE_LIMIT_PER_CUSTOMER": "0", "RATE_LIMIT_GLOBAL": "0", "MAX_BODY_BYTES": str(LIMIT),
        "ORDERS_DB_PATH": str(folder / "orders.sqlite3"),
    })
    log = logging.getLogger("test.hostile")
    app = create_app(settings_, flows, Given(clock=ManualClock(FRIDAY_LUNCH), log=log, sender=LogSender(log)))
    with anyio.from_thread.start_blocking_portal() as portal, portal.wrap_async_context_manager(running(app)) as client:
        yield Webhook(portal, client)


# --- the property -------------------------------------------------------------------------

def test_no_signed_webhook_gets_a_5xx_and_every_200_is_well_formed_twiml(webhook: Webhook, errors: Errors) -> None:
    seen: Counter[str] = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(request=requests())
    def answered_well(request: tuple[bytes, dict[str, str], int | None]) -> None:
        body, headers, expected = request
        errors.records.clear()
        response = webhook.post(body, headers)
        status = response.status_code
        assert 200 <= status < 300 or 400 <= status < 500, (status, response.text)
        assert not errors.records, [record.getMessage() for record in errors.records]
        if expected is not None:
            assert status == expected, (response.text, body[:300])
        if status != 200:
            seen["refused"] += 1
            assert response.headers["content-type"].startswith("text/plain")
            assert 0 < len(response.text) < 200 and "\n" not in response.text
            return
        assert response.headers["content-type"].startswith("application/xml")
        document = ET.fromstring(response.content)  # well-formed, or this raises
        assert document.tag == "Response"
        messages = document.findall("Message")
        sender = dict(parse_qsl(body.decode("ascii"), keep_blank_values=True))["From"].strip(" \t\r\n")
        assert {message.get("to") for message in messages} <= {sender}  # replies go to the sender
        seen["answered" if messages else "silent"] += 1

    answered_well()
    # The property holds trivially if nothing gets through: most requests must reach the flows.
    total = sum(seen.values())
    assert total >= 1000, seen
    assert seen["answered"] >= total // 3, seen
    assert seen["refused"] >= total // 10, seen
