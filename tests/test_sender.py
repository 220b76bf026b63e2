"""The real twilio client against a local fake of the Messages API, and the log-only sender."""

from __future__ import annotations

import json
import logging
import time

import pytest
from servicekit import free_port
from twilio_fake import HANG, TwilioFake, error, status

from engine.channels.twilio.errors import SendVerdict
from engine.channels.twilio.rest import BaseUrlTwilioHttpClient, TwilioSender
from engine.channels.twilio.sender import LogSender, sender_for

pytestmark = pytest.mark.anyio

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "sender-test-token-not-a-secret"
FROM = "whatsapp:+14155238886"
CUSTOMER = "+525512345678"


@pytest.fixture
def fake():
    server = TwilioFake().start()
    yield server
    server.stop()


@pytest.fixture
async def make_sender():
    """``make_sender(base_url, timeout)``: a sender pointed at ``base_url``, closed after the test."""
    senders: list[TwilioSender] = []

    def make(base: str, timeout: float = 2.0) -> TwilioSender:
        senders.append(TwilioSender(SID, TOKEN, FROM, logging.getLogger("test.sender"), timeout=timeout,
                                    http_client=lambda: BaseUrlTwilioHttpClient(base)))
        return senders[-1]

    yield make
    for sender in senders:
        await sender.aclose()


@pytest.fixture
def sender(fake, make_sender):
    return make_sender(fake.url)


async def test_a_message_is_posted_to_the_messages_resource_with_basic_auth(fake, sender):
    result = await sender.send(CUSTOMER, "Tu pedido #1042 está listo 🌮")
    assert result.verdict is SendVerdict.SENT and result.sent
    assert result.sid is not None and result.sid.startswith("SM")
    [request] = fake.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.auth == (SID, TOKEN)
    assert request.form == {"From": FROM, "To": "whatsapp:+5215512345678", "Body": "Tu pedido #1042 está listo 🌮"}


async def test_an_address_already_prefixed_is_kept(fake, sender):
    await sender.send("whatsapp:" + CUSTOMER, "hola")
    assert fake.requests[0].form["To"] == "whatsapp:+5215512345678"  # as WhatsApp names it


async def test_a_template_carries_its_sid_and_variables_as_json(fake, sender):
    result = await sender.send_template(CUSTOMER, "HX" + "a" * 32, {"1": "Pedido #1042 · $250"})
    assert result.sent
    form = fake.requests[0].form
    assert form["ContentSid"] == "HX" + "a" * 32
    assert json.loads(form["ContentVariables"]) == {"1": "Pedido #1042 · $250"}
    assert "Body" not in form and form["From"] == FROM


@pytest.mark.parametrize(
    "answer, verdict, status_, code",
    [
        (status(429), SendVerdict.RETRY, 429, None),
        (error(429, 20429, "Too Many Requests"), SendVerdict.RETRY, 429, 20429),
        (status(500), SendVerdict.RETRY, 500, None),
        (status(503), SendVerdict.RETRY, 503, None),
        (error(400, 21211, "Invalid 'To' Phone Number"), SendVerdict.PERMANENT, 400, 21211),
        (error(400, 63003, "Channel could not find To address"), SendVerdict.PERMANENT, 400, 63003),
        (error(400, 63016, "Outside the allowed window"), SendVerdict.WINDOW, 400, 63016),
        (error(401, 20003, "Authenticate"), SendVerdict.PERMANENT, 401, 20003),
    ],
)
async def test_failures_are_classified(fake, sender, answer, verdict, status_, code):
    fake.answer(answer)
    result = await sender.send(CUSTOMER, "hola")
    assert (result.verdict, result.status, result.code) == (verdict, status_, code)
    assert result.sid is None and result.detail
    assert len(fake.requests) == 1  # the sender itself never retries: the outbox does


async def test_a_hanging_twilio_is_cut_off_at_the_timeout(fake, make_sender):
    sender = make_sender(fake.url, timeout=0.3)
    fake.answer(HANG)
    started = time.monotonic()
    result = await sender.send(CUSTOMER, "hola")
    assert time.monotonic() - started < 2
    assert result.verdict is SendVerdict.RETRY and result.status is None
    assert (await sender.send(CUSTOMER, "otra vez")).sent  # the client is still usable afterwards


async def test_nothing_listening_is_a_transient_failure(make_sender):
    sender = make_sender(f"http://127.0.0.1:{free_port()}")
    result = await sender.send(CUSTOMER, "hola")
    assert result.verdict is SendVerdict.RETRY and result.status is None
    assert "red" in result.detail


async def test_the_token_is_never_logged(fake, sender, caplog):
    caplog.set_level(logging.DEBUG)
    fake.answer(error(400, 21211, "Invalid"))
    await sender.send(CUSTOMER, "hola")
    await sender.send(CUSTOMER, "hola")
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(sender)


def test_missing_credentials_are_refused():
    with pytest.raises(ValueError):
        TwilioSender(SID, "", FROM, logging.getLogger("test.sender"))


async def test_the_log_sender_marks_and_masks(caplog):
    caplog.set_level(logging.INFO, logger="test.logsender")
    sender = LogSender(logging.getLogger("test.logsender"))
    result = await sender.send("whatsapp:+5215512345678", "Pedido #1001\nTotal: $250")
    assert result.sent and result.sid == "LOG000001"
    [line] = [r.getMessage() for r in caplog.records if r.name == "test.logsender"]
    assert line == "📤 [sin Twilio] mensaje para whatsapp:+52155****5678: Pedido #1001\\nTotal: $250"
    assert "12345678" not in line

    await sender.send_template(CUSTOMER, "HXabc", {"1": "Pedido #1001"})
    assert caplog.records[-1].getMessage() == (
        '📤 [sin Twilio] plantilla HXabc para whatsapp:+52155****5678: {"1": "Pedido #1001"}'
    )


def test_sender_for_picks_twilio_only_with_all_three_settings(caplog):
    log = logging.getLogger("test.pick")
    assert isinstance(sender_for(SID, TOKEN, FROM, log), TwilioSender)
    assert isinstance(sender_for(None, None, None, log), LogSender)
    assert "Twilio" not in caplog.text
    assert isinstance(sender_for(SID, None, FROM, log), LogSender)
    assert "Faltan datos de Twilio" in caplog.text and TOKEN not in caplog.text


async def test_every_send_asks_for_status_callbacks_when_given_a_url(fake, make_sender):
    sender = TwilioSender(SID, TOKEN, FROM, logging.getLogger("test.sender"),
                          http_client=lambda: BaseUrlTwilioHttpClient(fake.url),
                          status_callback="https://bot.example.test/twilio/status")
    try:
        assert (await sender.send(CUSTOMER, "hola")).sent
        assert (await sender.send_template(CUSTOMER, "HX" + "a" * 32, {"1": "x"})).sent
    finally:
        await sender.aclose()
    assert [r.form["StatusCallback"] for r in fake.requests] == ["https://bot.example.test/twilio/status"] * 2
    assert [r.sid for r in fake.requests] == [r.sid for r in fake.sent()] and fake.requests[0].sid.startswith("SM")


async def test_without_a_url_no_status_callback_is_asked_for(fake, sender):
    await sender.send(CUSTOMER, "hola")
    assert "StatusCallback" not in fake.requests[0].form

