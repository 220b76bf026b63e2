from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from twilio.twiml.messaging_response import MessagingResponse

from engine.channels.twilio.twiml import WHATSAPP_LIMIT, split_message, twiml, units


def messages(document: str) -> list[ET.Element]:
    return ET.fromstring(document).findall("Message")


def test_short_replies_stay_whole_and_are_escaped():
    document = twiml(["¡Hola! <b>tacos</b> & más", "Segundo"], to="whatsapp:+5215512345678")
    found = messages(document)
    assert [m.text for m in found] == ["¡Hola! <b>tacos</b> & más", "Segundo"]
    assert all(m.get("to") == "whatsapp:+5215512345678" for m in found)
    assert "<b>" not in document


def test_no_replies_is_an_empty_response():
    assert messages(twiml([])) == []
    assert ET.fromstring(twiml([])).tag == "Response"


def test_a_long_reply_is_split_at_paragraphs_within_the_limit():
    paragraph = ("Taco al pastor con piña. " * 40).strip()
    text = "\n\n".join([paragraph] * 5)
    pieces = split_message(text)
    assert len(pieces) > 1
    assert all(units(piece) <= WHATSAPP_LIMIT for piece in pieces)
    assert all(piece.endswith("piña.") for piece in pieces)
    assert "\n\n".join(pieces) == text


def test_emoji_count_double_as_twilio_counts_them():
    pieces = split_message("🌮" * 1000)
    assert [units(piece) for piece in pieces] == [1600, 400]
    assert "".join(pieces) == "🌮" * 1000


def test_words_are_not_cut_when_there_is_a_space():
    text = " ".join(f"palabra{n}" for n in range(600))
    pieces = split_message(text)
    assert " ".join(pieces) == text
    assert all(units(piece) <= WHATSAPP_LIMIT for piece in pieces)


def test_the_document_is_exactly_what_twilio_would_write():
    tricky = [
        "¡Hola! <b>tacos</b> & más > menos", 'Dijo "sí" y \'no\'', "línea\r\notra\tcon tab", "🌮🌯 \u200b \x0b",
        "&amp; ya escapado &lt;", ("Taco al pastor con piña. " * 80).strip(),
    ]
    for to in (None, "whatsapp:+5215512345678", 'rare "to" <&>\r\n\t'):
        assert twiml([], to=to) == twilio_twiml([], to=to)
        assert twiml(tricky, to=to) == twilio_twiml(tricky, to=to)
        for text in tricky:
            assert twiml([text], to=to) == twilio_twiml([text], to=to)


def twilio_twiml(replies: Iterable[str], to: str | None = None, limit: int = WHATSAPP_LIMIT) -> str:
    """``twiml`` built with twilio's ``MessagingResponse``: the reference it must equal."""
    response = MessagingResponse()
    for reply in replies:
        for piece in split_message(reply, limit):
            if to is None:
                response.message(piece)
            else:
                response.message(piece, to=to)
    return str(response)
