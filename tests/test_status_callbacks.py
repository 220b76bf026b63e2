"""Twilio's status callbacks end to end: a real server process sends through the real twilio
client to the loopback fake, which then posts the callbacks Twilio would, signed with the auth
token for the public URL, to ``POST /twilio/status``. What the outbox recorded is read from the
server's SQLite file (the outbox lives next to the orders)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
from servicekit import (  # noqa: F401  (prefix is a fixture)
    PUBLIC_URL,
    SHARED_REDIS,
    TOKEN,
    Server,
    form,
    post,
    prefix,
    replies,
    set_clock,
    wait_for,
)
from twilio.request_validator import RequestValidator
from twilio_fake import Recorded, TwilioFake

from engine.runtime.phones import whatsapp_id

FRIDAY_LUNCH = datetime(2026, 11, 27, 14, 0, tzinfo=ZoneInfo("America/Mexico_City"))
ANA = "whatsapp:+5215512345678"
ADMIN = "whatsapp:+5215587654321"
ACCOUNT = "AC" + "1" * 32
TEMPLATE = "HX" + "c" * 32
ORDER = ["hola", "3 pastor", "harina", "sin cebolla", "listo", "1", "Ana", "este", "efectivo", "sí"]
CALLBACK = PUBLIC_URL + "/twilio/status"


@pytest.fixture
def twilio() -> Iterator[TwilioFake]:
    fake = TwilioFake(token=TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def server(tmp_path: Path, prefix: str, twilio: TwilioFake) -> Iterator[Server]:  # noqa: F811
    clock = tmp_path / "clock-offset"
    set_clock(clock, FRIDAY_LUNCH)
    env = {
        "REDIS_URL": SHARED_REDIS, "REDIS_KEY_PREFIX": prefix, "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_WHATSAPP_CLIENTES": "whatsapp:+14155238886",
        "TWILIO_API_BASE": twilio.url, "ADMIN_PHONE_NUMBER": ADMIN, "ADMIN_TEMPLATE_SID": TEMPLATE,
        "PUBLIC_URL": PUBLIC_URL, "TEST_CLOCK_FILE": str(clock),
    }
    process = Server(tmp_path, env).start()
    twilio.via = process.base  # where Twilio's callbacks for PUBLIC_URL really arrive
    yield process
    if process.process is not None:
        process.kill()


def talk(server: Server, messages: list[str], sender: str = ANA) -> list[list[str]]:
    with httpx.Client(timeout=10) as client:
        return [replies(post(client, server.base, form(text, sender=sender))) for text in messages]


def outbox(folder: Path) -> dict[str, tuple[str, str | None, str | None, int | None]]:
    with sqlite3.connect(folder / "data" / "orders.sqlite3") as db:
        return {row[0]: row[1:] for row in db.execute("SELECT id, state, sid, status, error_code FROM outbox")}


def recorded(folder: Path, message: Recorded) -> tuple:
    """The outbox's row for ``message`` once the server has recorded Twilio's SID for it."""
    return wait_for(lambda: next((row for row in outbox(folder).values() if row[1] == message.sid), None),
                    what="the outbox to record the message's SID")


def sent_to(twilio: TwilioFake, to: str, count: int) -> list[Recorded]:
    def accepted() -> list[Recorded]:
        return [r for r in twilio.sent() if r.form.get("To") == whatsapp_id(to)]
    return wait_for(lambda: len(accepted()) >= count and accepted(), what=f"{count} messages for {to}")


def test_every_send_asks_for_callbacks_and_statuses_only_move_forward(server, twilio, tmp_path):
    talk(server, ORDER)
    [notice] = sent_to(twilio, ADMIN, 1)
    assert notice.form["StatusCallback"] == CALLBACK and "Pedido nuevo *#1001*" in notice.form["Body"]
    assert recorded(tmp_path, notice)[2] == "queued"
    for status in ("sent", "delivered", "sent", "delivered"):  # out of order, and twice
        assert twilio.callback(notice, status) == 200
    assert recorded(tmp_path, notice)[2:] == ("delivered", None)
    assert twilio.callback(notice, "read") == 200
    assert recorded(tmp_path, notice)[2] == "read"
    log = server.log()
    assert log.count("📬 Mensaje «order» para +5255****4321") == 3  # sent, delivered, read
    assert log.count("📭 Estado") == 2  # the late "sent" and the second "delivered"
    assert "87654321" not in log


def test_a_63016_for_the_admins_notice_sends_the_approved_template_once(server, twilio, tmp_path):
    talk(server, ORDER)
    [notice] = sent_to(twilio, ADMIN, 1)
    recorded(tmp_path, notice)
    assert twilio.callback(notice, "failed", 63016) == 200
    [_, template] = sent_to(twilio, ADMIN, 2)
    assert template.form["ContentSid"] == TEMPLATE and template.form["StatusCallback"] == CALLBACK
    assert "Pedido nuevo *#1001*" in json.loads(template.form["ContentVariables"])["1"]
    assert twilio.callback(notice, "failed", 63016) == 200  # Twilio said it twice: still one template
    assert twilio.callback(template, "delivered") == 200
    assert recorded(tmp_path, template)[2] == "delivered"
    talk(server, ["hola"], sender="whatsapp:+5215599990000")  # a round trip: anything late would show
    assert len(sent_to(twilio, ADMIN, 2)) == 2 and len(twilio.sent()) == 2
    assert "va la plantilla" in server.log()


def test_a_customer_never_reached_is_reported_to_the_admin_once(server, twilio, tmp_path):
    talk(server, ORDER)
    talk(server, ["#listo 1001"], sender=ADMIN)
    [status] = sent_to(twilio, ANA, 1)
    assert "Tu pedido *#1001* está listo" in status.form["Body"]
    recorded(tmp_path, status)
    assert twilio.callback(status, "undelivered", 63003) == 200
    [_, report] = sent_to(twilio, ADMIN, 2)
    assert "no está en WhatsApp (63003)" in report.form["Body"] and "+5255****5678" in report.form["Body"]
    assert twilio.callback(status, "failed", 63003) == 200  # the same failure again: no second report
    assert recorded(tmp_path, status)[2:] == ("undelivered", 63003)
    talk(server, ["hola"], sender="whatsapp:+5215599990000")
    assert len(twilio.sent()) == 3


def test_callbacks_that_are_forged_unknown_or_odd_change_nothing(server, twilio, tmp_path):
    talk(server, ORDER)
    [notice] = sent_to(twilio, ADMIN, 1)
    before = recorded(tmp_path, notice)
    fields = {"MessageSid": notice.sid, "MessageStatus": "failed", "ErrorCode": "63016", "AccountSid": ACCOUNT}
    with httpx.Client(base_url=server.base, timeout=10) as client:
        def send(body: dict[str, str], token: str = TOKEN, url: str = CALLBACK) -> int:
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "X-Twilio-Signature": RequestValidator(token).compute_signature(url, body)}
            return client.post("/twilio/status", content=urlencode(body), headers=headers).status_code

        assert send(fields, token="not-the-token") == 403
        assert send(fields, url=server.base + "/twilio/status") == 403  # signed for the wrong URL
        assert client.post("/twilio/status", data=fields).status_code == 403  # not signed at all
        assert send({**fields, "AccountSid": "AC" + "9" * 32}) == 200  # another account's: ignored
        assert send({**fields, "MessageSid": "SM" + "0" * 32}) == 200  # a message this bot never sent
        assert send({**fields, "MessageStatus": "exploded"}) == 200
        assert send({**fields, "MessageSid": "<script>"}) == 200
        assert client.post("/twilio/status", content=b"\xff", headers={
            "Content-Type": "application/x-www-form-urlencoded"}).status_code == 400
    assert recorded(tmp_path, notice) == before  # still only queued
    assert len(twilio.sent()) == 1  # no template went out for any of them
    log = server.log()
    assert log.count("⛔ Aviso de estado con firma inválida") == 3
    assert "Traceback" not in log
