"""Replies as TwiML: one ``<Message>`` per text, none longer than WhatsApp allows.

Twilio counts a message's length in UTF-16 code units (an emoji can count twice), so that is what
is measured here. A long reply is split at a paragraph, else a line, else a space, never inside a
word unless a single word is longer than a whole message.

The document is written directly, escaped as ElementTree escapes: the same text, character for
character, as twilio's ``MessagingResponse`` (which builds an ElementTree first, a dozen times
slower); ``tests/test_twiml.py`` compares the two. One difference: characters XML 1.0 cannot hold
(most control characters, lone surrogates, U+FFFE and U+FFFF) are dropped here, whatever text the
flows or a customer bring, where twilio would write them and make the document unreadable.
"""

from __future__ import annotations

import re
from typing import Iterable

WHATSAPP_LIMIT = 1600

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Every character outside XML 1.0's ``Char`` production (``#x9 | #xA | #xD | [#x20-#xD7FF] |
[#xE000-#xFFFD] | [#x10000-#x10FFFF]``), written as what is left out: compiling the ranges kept
costs ten times more, at every start."""


def xml_text(text: str) -> str:
    """``text`` without the characters an XML 1.0 document cannot hold (tab, new lines kept)."""
    return _NOT_XML.sub("", text) if _NOT_XML.search(text) else text


def units(text: str) -> int:
    """Length as Twilio counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = WHATSAPP_LIMIT) -> list[str]:
    """``text`` in pieces of at most ``limit`` units, cut at the most natural place."""
    text = text.strip()
    pieces: list[str] = []
    while units(text) > limit:
        head = _prefix(text, limit)
        cut = _natural_cut(head)
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _natural_cut(head: str) -> int:
    """Where to cut ``head``: the last paragraph break in its second half, else the last line
    break there, else the last space anywhere, else its end."""
    for separator in ("\n\n", "\n"):
        at = head.rfind(separator)
        if at >= len(head) // 2:
            return at
    at = head.rfind(" ")
    return at if at > 0 else len(head)


def _prefix(text: str, limit: int) -> str:
    """The longest start of ``text`` within ``limit`` units (never half a surrogate pair)."""
    total = 0
    for index, char in enumerate(text):
        total += 2 if ord(char) > 0xFFFF else 1
        if total > limit:
            return text[:index]
    return text


DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
EMPTY = DECLARATION + "<Response />"


def _text(text: str) -> str:
    """Character data escaped as ElementTree escapes it."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _attribute(text: str) -> str:
    """An attribute value escaped as ElementTree escapes it."""
    text = _text(text)
    for raw, escaped in (('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;")):
        if raw in text:
            text = text.replace(raw, escaped)
    return text


def twiml(replies: Iterable[str], to: str | None = None, limit: int = WHATSAPP_LIMIT) -> str:
    """The TwiML document answering with ``replies`` (an empty ``<Response/>`` for none).

    Always well-formed XML: characters XML cannot hold are dropped from the replies and ``to``.
    """
    pieces = [piece for reply in replies for piece in split_message(xml_text(reply), limit)]
    if not pieces:
        return EMPTY
    opening = "<Message>" if to is None else f'<Message to="{_attribute(xml_text(to))}">'
    return f"{DECLARATION}<Response>{''.join(f'{opening}{_text(piece)}</Message>' for piece in pieces)}</Response>"
