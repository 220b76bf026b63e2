"""Turns with buttons end to end: a real server process prepares its Content templates in the
Content API fake at start, sends a turn that ends on a question with buttons through the outbox
(the texts, then the question with ``ContentSid`` + ``ContentVariables``) to the Messages API
fake through the real twilio client, and answers the webhook with an empty TwiML; without the
templates, or when Twilio refuses one, the same question goes out as numbered text."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Iterator
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
from twilio_content_fake import ContentFake
from twilio_fake import Recorded, TwilioFake

from engine.runtime.phones import whatsapp_id

FRIDAY_LUNCH = datetime(2026, 11, 27, 14, 0, tzinfo=ZoneInfo("America/Mexico_City"))
ANA = "whatsapp:+5215512345678"
ACCOUNT = "AC" + "2" * 32
READY = "Botones y listas en Twilio"


@pytest.fixture
def content() -> Iterator[ContentFake]:
    fake = ContentFake(account_sid=ACCOUNT, auth_token=TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def twilio() -> Iterator[TwilioFake]:
    fake = TwilioFake(token=TOKEN).start()
    yield fake
    fake.stop()


def start(tmp_path: Path, prefix: str, twilio: TwilioFake, content: ContentFake | None, ready: str = READY,
          **extra: str) -> Server:
    clock = tmp_path / "clock-offset"
    set_clock(clock, FRIDAY_LUNCH)
    env = {
        "REDIS_URL": SHARED_REDIS, "REDIS_KEY_PREFIX": prefix, "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_WHATSAPP_CLIENTES": "whatsapp:+14155238886",
        "TWILIO_API_BASE": twilio.url, "TEST_CLOCK_FILE": str(clock), "PUBLIC_URL": PUBLIC_URL, **extra,
    }
    if content is not None:
        env["TWILIO_CONTENT_API_BASE"] = content.url
    server = Server(tmp_path, env).start()
    wait_for(lambda: ready in server.log(), what=f"«{ready}» in the server's log")
    return server


@pytest.fixture
def server(tmp_path: Path, prefix: str, twilio: TwilioFake, content: ContentFake) -> Iterator[Server]:  # noqa: F811
    process = start(tmp_path, prefix, twilio, content)
    yield process
    if process.process is not None:
        process.kill()


def say(server: Server, text: str, sid: str | None = None, sender: str = ANA) -> list[str]:
    with httpx.Client(timeout=10) as client:
        return replies(post(client, server.base, form(text, sender=sender, sid=sid)))


def to_ana(twilio: TwilioFake) -> list[Recorded]:
    return [r for r in twilio.sent() if r.form.get("To") == whatsapp_id(ANA)]


def arrived(twilio: TwilioFake, count: int) -> list[Recorded]:
    return wait_for(lambda: len(to_ana(twilio)) >= count and to_ana(twilio), what=f"{count} messages for Ana")


def test_a_question_with_buttons_goes_through_the_outbox_as_its_template(server, twilio, content):
    assert say(server, "hola")  # a question without options: TwiML text as ever
    assert say(server, "3 pastor") == []  # an empty TwiML: the turn goes through the outbox
    [question] = arrived(twilio, 1)
    sids = {c["friendly_name"]: c["sid"] for c in content.contents()}
    tortilla = next(sid for name, sid in sids.items() if name.endswith("_buttons_pedir__tortilla"))
    assert question.content_sid == tortilla and "Body" not in question.form
    assert question.content_variables["1"].startswith("¿Tortilla de maíz o de harina?")
    assert question.form["From"] == "whatsapp:+14155238886"


def test_the_turn_goes_out_in_order_texts_first(server, twilio):
    say(server, "hola")
    say(server, "3 pastor")
    arrived(twilio, 1)
    assert say(server, "menú") == []  # the menu, then the open question again, with its buttons
    sent = arrived(twilio, 3)[1:]
    assert [bool(r.content_sid) for r in sent] == [False, True]
    assert "Menú de El Rinconcito" in sent[0].form["Body"] and sent[0].at < sent[1].at
    assert sent[1].content_variables["1"].startswith("¿Tortilla de maíz o de harina?")


def test_a_retried_webhook_of_a_turn_with_buttons_sends_nothing_twice(server, twilio):
    say(server, "hola")
    sid = "SM" + "7" * 32
    assert say(server, "3 pastor", sid=sid) == []
    assert say(server, "3 pastor", sid=sid) == []  # Twilio's retry: the same empty answer
    assert say(server, "harina") == []  # the next question has buttons too, and comes after
    sent = arrived(twilio, 2)
    assert len(sent) == 2 and "Tortilla" in sent[0].content_variables["1"]
    assert "¿Cómo los preparamos?" in sent[1].content_variables["1"]
    assert server.log().count("Respuesta por la cola de envíos") == 2


def test_a_template_twilio_refuses_goes_out_as_the_numbered_text(tmp_path, prefix, content):  # noqa: F811
    twilio = TwilioFake(token=TOKEN, contents=set()).start()  # the account has none of them
    try:
        server = start(tmp_path, prefix, twilio, content)
        say(server, "hola")
        assert say(server, "3 pastor") == []
        text = wait_for(lambda: [r for r in twilio.requests if r.answered == 201], what="the text")
        refused = [r for r in twilio.requests if r.answered == 400]
        assert len(refused) == 1 and refused[0].content_sid
        assert text[0].form["Body"].startswith("¿Tortilla de maíz o de harina?") and "1. Maíz" in text[0].form["Body"]
        assert "va el texto numerado" in server.log()
        server.kill()
    finally:
        twilio.stop()


def test_without_credentials_the_question_is_numbered_text_in_the_twiml(tmp_path, prefix):  # noqa: F811
    clock = tmp_path / "clock-offset"
    set_clock(clock, FRIDAY_LUNCH)
    server = Server(tmp_path, {"REDIS_URL": SHARED_REDIS, "REDIS_KEY_PREFIX": prefix, "TEST_CLOCK_FILE": str(clock)}).start()
    try:
        wait_for(lambda: "no hay botones" in server.log(), what="the start to say there are no buttons")
        with httpx.Client(timeout=10) as client:
            post(client, server.base, form("hola"), sign=False)
            [question] = replies(post(client, server.base, form("3 pastor"), sign=False))
        assert question.startswith("¿Tortilla de maíz o de harina?") and "1. Maíz" in question
    finally:
        server.kill()


def test_a_content_api_failure_at_start_leaves_the_turns_in_twiml_text(tmp_path, prefix, twilio, content):  # noqa: F811
    content.fail(500, method="GET", code=20500)
    server = start(tmp_path, prefix, twilio, content, ready="No se pudieron preparar los botones")
    try:
        say(server, "hola")
        [question] = say(server, "3 pastor")
        assert question.startswith("¿Tortilla de maíz o de harina?")
        say(server, "harina")
        assert to_ana(twilio) == []  # nothing went through the outbox
    finally:
        server.kill()


def tap(server: Server, twilio: TwilioFake, content: ContentFake, choice: str, sent: int) -> list[str]:
    """Tap ``choice`` on the ``sent``-th message sent to Ana, as a phone does: the button's (or list
    item's) id and title from the template that was sent, in the fields Twilio posts for a tap."""
    question = arrived(twilio, sent)[sent - 1]
    resource = next(c for c in content.contents() if c["sid"] == question.content_sid)
    kind, rich = next((k, v) for k, v in resource["types"].items() if k != "twilio/text")
    options = rich.get("actions") or rich.get("items")
    option = next(o for o in options if o["id"].endswith(":" + choice))
    title = option.get("title") or option.get("item")
    if kind == "twilio/list-picker":
        fields = {"ListId": option["id"], "ListTitle": title, "MessageType": "interactive"}
    else:
        fields = {"ButtonPayload": option["id"], "ButtonText": title, "MessageType": "button"}
    with httpx.Client(timeout=10) as client:
        return replies(post(client, server.base, form(title, **fields)))


def text_of(message: Recorded) -> str:
    """What Ana reads: the body, or a template's text (its first variable)."""
    return message.form.get("Body") or message.content_variables["1"]


class Outbox:
    """What Ana was sent through the outbox, read in order: ``new(k)`` waits for the next ``k``."""

    def __init__(self, twilio: TwilioFake) -> None:
        self.twilio = twilio
        self.seen = 0

    def new(self, count: int) -> list[Recorded]:
        sent = arrived(self.twilio, self.seen + count)
        fresh, self.seen = sent[self.seen:self.seen + count], self.seen + count
        return fresh


def test_a_whole_order_by_taps(server, twilio, content):
    sent = Outbox(twilio)
    say(server, "hola")
    assert say(server, "3 pastor") == []
    [tortilla] = sent.new(1)
    assert tap(server, twilio, content, "harina", 1) == []
    [preparation] = sent.new(1)
    assert preparation.content_sid
    # From the first buttons on, every answer of the conversation follows them through the outbox,
    # texts too: a reply in the webhook's TwiML could reach Ana before what still waits there.
    assert tap(server, twilio, content, "sin_cebolla", 2) == []
    [added] = sent.new(1)
    assert text_of(added).startswith("✅ Agregué 3 × Taco al pastor (harina, sin cebolla)")
    assert tap(server, twilio, content, "maiz", 1) == []  # a button of an earlier question
    stale, asked = sent.new(2)
    assert text_of(stale).startswith("Ese botón era de un mensaje anterior") and text_of(asked).startswith("¿Qué te sirvo?")
    assert say(server, "listo") == []
    [fulfilment] = sent.new(1)
    assert fulfilment.content_sid
    assert tap(server, twilio, content, "pickup", sent.seen) == []
    [name] = sent.new(1)
    assert text_of(name) == "¿A nombre de quién va el pedido?" and not name.content_sid
    assert say(server, "Ana") == []
    sent.new(1)
    assert say(server, "este") == []
    [payment] = sent.new(1)
    assert tap(server, twilio, content, "efectivo", sent.seen) == []
    [summary] = sent.new(1)
    assert "3 × Taco al pastor (harina, sin cebolla)" in text_of(summary) and summary.content_sid
    summary_at = sent.seen
    assert tap(server, twilio, content, "yes", summary_at) == []
    [placed] = sent.new(1)
    assert "Tu pedido es el *#" in text_of(placed) and "Total: $75" in text_of(placed)
    assert tap(server, twilio, content, "yes", summary_at) == []  # the confirmation's button once more
    [again] = sent.new(1)
    assert text_of(again).startswith("Ese botón era de un mensaje anterior")
    assert server.log().count("🧾 Pedido #") == 1
    everything = to_ana(twilio)
    assert [r.at for r in everything] == sorted(r.at for r in everything)


def test_a_typed_answer_right_after_buttons_waits_behind_them(server, twilio):
    # The buttons' question is held at Twilio's door; Ana answers by typing before it is accepted.
    # Her answer's reply must not reach her before the question it answers: it waits in the outbox.
    say(server, "hola")
    hold = twilio.hold_next(lambda f: bool(f.get("ContentSid")))
    assert say(server, "3 pastor") == []
    wait_for(hold.seen.is_set, what="the question to be held at Twilio")
    assert say(server, "harina") == []  # typed: no reply in the TwiML
    assert server.log().count("Respuesta por la cola de envíos") == 2
    assert [text_of(r)[:8] for r in to_ana(twilio)] == [text_of(hold.request)[:8]]  # nothing overtook it
    hold.release()
    question, preparation = arrived(twilio, 2)[:2]
    assert "Tortilla" in text_of(question) and "¿Cómo los preparamos?" in text_of(preparation)


def test_the_same_order_typed_alongside_the_buttons(server, twilio):
    sent = Outbox(twilio)
    say(server, "hola")
    for text in ("3 pastor", "harina", "sin cebolla", "listo"):
        assert say(server, text) == []  # typed answers to the buttons' questions
    sent.new(4)
    assert say(server, "1") == []
    [name] = sent.new(1)
    assert text_of(name) == "¿A nombre de quién va el pedido?"
    for text in ("Ana", "este", "efectivo"):
        say(server, text)
    sent.new(3)
    say(server, "sí")
    [placed] = sent.new(1)
    assert "Tu pedido es el *#" in text_of(placed) and "Total: $75" in text_of(placed)