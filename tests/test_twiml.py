from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable

import pytest
from twilio.twiml.messaging_response import MessagingResponse

from engine.channels.twilio.twiml import (
    WHATSAPP_LIMIT,
    split_message,
    twiml,
    units,
    xml_text,
)


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
        "&amp; ya escapado &lt;", ("Taco al pastor con piña. " * 80).strip(), "dentro\x0bdel\x00texto\ud800",
    ]
    for to in (None, "whatsapp:+5215512345678", 'rare "to" <&>\r\n\t'):
        assert twiml([], to=to) == twilio_twiml([], to=to)
        assert twiml(tricky, to=to) == twilio_twiml(tricky, to=to)
        for text in tricky:
            assert twiml([text], to=to) == twilio_twiml([text], to=to)


NOT_XML = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff"]
"""Characters XML 1.0 cannot hold, even escaped (``&#0;`` is no better): a lone surrogate too."""


@pytest.mark.parametrize("bad", NOT_XML)
def test_whatever_the_text_the_document_is_well_formed_xml(bad):
    text = f"Ana{bad}López{bad * 3}\tcalle 5\n{bad}"
    document = twiml([text, bad, f"🌮{bad}" * 900], to=f"whatsapp:{bad}+5215512345678")
    found = messages(document)  # parses
    assert [m.text for m in found][:1] == ["AnaLópez\tcalle 5"]
    assert all(bad not in (m.text or "") for m in found)
    assert {m.get("to") for m in found} == {"whatsapp:+5215512345678"}
    assert document.encode("utf-8").decode("utf-8") == document  # a lone surrogate would not encode
    assert [units(m.text or "") for m in found][1:] == [1600, 200]  # lengths counted without it


def test_xml_text_drops_exactly_what_is_outside_xml_1_0s_char_production():
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    char = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # the production as written
    assert xml_text(every) == "".join(char.findall(every))


def test_xml_text_keeps_every_character_xml_can_hold():
    fine = "tab\t nl\n cr\r sp \x7f\x85 \ud7ff\ue000\ufffd 🌮\U0010ffff ñ"
    assert xml_text(fine) is fine
    assert xml_text("".join(NOT_XML)) == ""
    assert xml_text(f"a{NOT_XML[0]}b{NOT_XML[-1]}c") == "abc"


def twilio_twiml(replies: Iterable[str], to: str | None = None, limit: int = WHATSAPP_LIMIT) -> str:
    """``twiml`` built with twilio's ``MessagingResponse``: the reference it must equal (twilio
    would write what XML cannot hold as is, so the reference is given the text without it)."""
    response = MessagingResponse()
    for reply in replies:
        for piece in split_message(xml_text(reply), limit):
            if to is None:
                response.message(piece)
            else:
                response.message(piece, to=xml_text(to))
    return str(response)
