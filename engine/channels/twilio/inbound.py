"""Reading Twilio's webhook request: the body (within a limit), the form, the signature, the
message.

Twilio posts ``application/x-www-form-urlencoded`` fields (``From``, ``Body``, ``MessageSid``,
...). Unknown fields are ignored; a body that is not such a form is refused (400), as is one
without a sender. The signature is HMAC over the URL Twilio called plus the sorted fields, so the
URL must be the public one: behind Render's proxy the request arrives as plain http on an
internal address, hence ``PUBLIC_URL``.

Every field the bot reads is cleaned here, once, into the ``Delivery`` and its ``Inbound``:

- text is XML 1.0 text (what XML cannot hold is dropped: it is echoed into TwiML and templates);
  the message keeps its new lines and tabs, the one-line fields (profile name, location label)
  have every run of white space made one space; each is cut to a bound;
- ``From`` must be a WhatsApp address (``whatsapp:+<E.164>``, or the bare ``+<E.164>``), else 400;
- ``MessageSid`` (what a retry is recognised by) must look like one, else 400;
- numbers are ASCII digits (``NumMedia``) or a plain decimal in range (``Latitude``,
  ``Longitude``); anything else (``²``, ``1e309``, ``nan``) counts as absent;
- a field the bot reads that appears twice is refused (400): which one was meant is unknowable;
  unknown fields may repeat (they are only signed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlparse

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import ClientDisconnect, Request
from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    add_port,
    get_signature_algorithm,
    remove_port,
)

from engine.channels.twilio.content import TAP_ID_FIELD_LIMIT, tap_in
from engine.channels.twilio.twiml import xml_text
from engine.model.inbound import Inbound, Location
from engine.runtime.phones import normalise_whatsapp

MAX_TEXT = 4096
"""WhatsApp's own limit for a text message: anything longer is cut before the runtime sees it."""
MAX_PROFILE = 100
MAX_LABEL = 300
MAX_FIELDS = 200
READ = ("From", "Body", "ButtonText", "ButtonPayload", "ListId", "ListTitle", "ProfileName", "MessageSid",
        "NumMedia", "Latitude", "Longitude", "Label", "Address")
"""The fields the bot reads: each may appear once."""
_SENDER = re.compile(r"(?:whatsapp:)?\+[1-9][0-9]{6,14}")
_SID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_COUNT = re.compile(r"[0-9]{1,3}")
_DECIMAL = re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{1,20})?")
_ASCII_SPACE = " \t\r\n"
_SPACES = re.compile(r"\s+")


class Refused(Exception):
    """The request cannot be handled: answer ``status`` with ``reason`` (a fixed text)."""

    def __init__(self, status: int, reason: str, log: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.log = log
        """One line for the service's log when the refusal is worth noting (no traceback)."""



async def read_body(request: Request, limit: int) -> bytes:
    """The body, or ``Refused(413)`` as soon as it is known to exceed ``limit`` bytes, or
    ``Refused(400)`` with a log line when the client goes away before sending all of it."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isascii() or not declared.isdigit():
            raise Refused(400, "Content-Length inválido")
        if len(declared) > 20 or int(declared) > limit:
            raise Refused(413, "Mensaje demasiado grande")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise Refused(413, "Mensaje demasiado grande")
    except ClientDisconnect:
        raise Refused(
            400, "Conexión cerrada a medio mensaje",
            f"🔌 El cliente cerró la conexión a medio mensaje ({len(body)} bytes leídos): 400, nada que atender",
        ) from None
    return bytes(body)


def parse_form(body: bytes, content_type: str | None) -> ImmutableMultiDict[str, str]:
    """The form fields of a urlencoded ``body``, or ``Refused(400)``."""
    if (content_type or "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise Refused(400, "Se esperaba un formulario (application/x-www-form-urlencoded)")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=bool(text), errors="strict", max_num_fields=MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "Formulario mal formado") from None
    return ImmutableMultiDict(pairs)


def public_url(request: Request, base: str | None) -> str:
    """The URL Twilio called: ``base`` (the public origin) + path + query when ``base`` is set."""
    if base is None:
        return str(request.url)
    scope = request.scope
    raw_path = scope.get("raw_path")
    path = (raw_path.decode("latin-1") if raw_path is not None else request.url.path).split("?")[0]
    query = scope.get("query_string", b"").decode("latin-1")
    return base + path + (f"?{query}" if query else "")


def signed(validator: RequestValidator, request: Request, url: str, form: ImmutableMultiDict[str, str]) -> bool:
    """True when the request carries a valid Twilio signature for ``url`` and ``form``.

    The verdict of ``validator.validate`` (``tests/test_webhook.py`` compares them), at half its
    cost: the signed text of the fields is built once, the URL's two spellings (with and without
    the port, since Twilio signs either) are worked out once per URL, and the second HMAC is
    computed only when the first does not match.
    """
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        return False
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    hash_function = _HASH_FUNCTIONS.get(algorithm.upper())
    if hash_function is None:
        return bool(validator.validate(url, form, signature, algorithm))  # refused, with twilio's warning
    fields = "".join(
        name + value for name in sorted(set(form.keys())) for value in sorted(set(form.getlist(name)))
    )
    try:
        spellings = _spellings(url)
    except ValueError:  # a URL urlparse cannot read (a Host header such as "[x"): no valid signature
        return False
    expected = signature.encode("utf-8")
    for spelling in spellings:
        mac = hmac.new(validator.token, (spelling + fields).encode("utf-8"), hash_function)
        if hmac.compare_digest(base64.b64encode(mac.digest()).strip(), expected):
            return True
    return False


_HASH_FUNCTIONS = {HMAC_SHA1: hashlib.sha1, HMAC_SHA256: hashlib.sha256}


@lru_cache(maxsize=64)
def _spellings(url: str) -> tuple[str, str]:
    """``url`` without its port and with it, in the order ``RequestValidator.validate`` tries them."""
    parsed = urlparse(url)
    return remove_port(parsed), add_port(parsed)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook call: the message and what the transport says about it."""

    sender: str
    """``From`` as received, without white space around it (``whatsapp:+5215512345678``): replies go there."""
    message_sid: str | None
    inbound: Inbound
    media: int = 0
    """How many files (photos, voice notes) came with the message."""


def read_delivery(form: ImmutableMultiDict[str, str]) -> Delivery:
    """The message in ``form``, every field cleaned, or ``Refused(400)`` (see the module's notes)."""
    repeated = [name for name in READ if len(form.getlist(name)) > 1]
    if repeated:
        raise Refused(400, f"Campo repetido: {repeated[0]}")
    sender = form.get("From", "").strip(_ASCII_SPACE)
    if not sender:
        raise Refused(400, "Falta el remitente (From)")
    if not _SENDER.fullmatch(sender):
        raise Refused(400, "Remitente (From) inválido: se espera whatsapp:+<número>")
    raw_sid = form.get("MessageSid", "").strip(_ASCII_SPACE)
    if raw_sid and not _SID.fullmatch(raw_sid):
        raise Refused(400, "MessageSid inválido")
    sid = raw_sid or None
    media = _count(form.get("NumMedia", ""))
    texts = (_message(form.get(name, "")) for name in ("Body", "ButtonText", "ListTitle", "ButtonPayload"))
    text = next((text for text in texts if text), "")  # a button's answer when there is no body
    # A tap: the button's or list item's id (see engine.channels.twilio.content for the fields).
    tap = _line(tap_in(form) or "", TAP_ID_FIELD_LIMIT) or None
    return Delivery(
        sender=sender,
        message_sid=sid,
        inbound=Inbound(
            customer=normalise_whatsapp(sender),
            text=text,
            location=_location(form),
            profile_name=_line(form.get("ProfileName", ""), MAX_PROFILE) or None,
            message_id=sid,
            tap=tap,
            media=media,
        ),
        media=media,
    )


def _message(raw: str) -> str:
    """A message's text: XML text, Windows and old Mac line ends made ``\\n``, within ``MAX_TEXT``."""
    text = xml_text(raw).replace("\r\n", "\n").replace("\r", "\n").strip()
    return text[:MAX_TEXT].rstrip()


def _line(raw: str, limit: int) -> str:
    """A one-line field: XML text, each run of white space (new lines too) one space, within ``limit``."""
    return _SPACES.sub(" ", xml_text(raw)).strip()[:limit].rstrip()


def _location(form: ImmutableMultiDict[str, str]) -> Location | None:
    latitude, longitude = _decimal(form.get("Latitude", "")), _decimal(form.get("Longitude", ""))
    if latitude is None or longitude is None:
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    parts = [_line(form.get(name, ""), MAX_LABEL) for name in ("Label", "Address")]
    label = ", ".join(part for part in parts if part)[:MAX_LABEL].rstrip() or None
    return Location(latitude, longitude, label)


def _decimal(raw: str) -> float | None:
    """A plain decimal (``-99.1332``), or None for anything else (``nan``, ``1e309``, ``١٢``)."""
    raw = raw.strip(_ASCII_SPACE)
    if not _DECIMAL.fullmatch(raw):
        return None
    return float(raw) + 0.0  # -0 is 0


def _count(raw: str) -> int:
    """A small count in ASCII digits, or 0 (absent) for anything else (``²``, ``①``, ``-0``)."""
    raw = raw.strip(_ASCII_SPACE)
    return int(raw) if _COUNT.fullmatch(raw) else 0
