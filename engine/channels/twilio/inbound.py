"""Reading Twilio's webhook request: the body (within a limit), the form, the signature, the
message.

Twilio posts ``application/x-www-form-urlencoded`` fields (``From``, ``Body``, ``MessageSid``,
...). Unknown fields are ignored; a body that is not such a form is refused (400), as is one
without a sender. The signature is HMAC over the URL Twilio called plus the sorted fields, so the
URL must be the public one: behind Render's proxy the request arrives as plain http on an
internal address, hence ``PUBLIC_URL``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlparse

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
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

from engine.model.inbound import Inbound, Location
from engine.runtime.phones import normalise_whatsapp

MAX_TEXT = 4096
"""WhatsApp's own limit for a text message: anything longer is cut before the runtime sees it."""
MAX_FIELDS = 200
_NUMBER = re.compile(r"\+[1-9][0-9]{6,14}")


class Refused(Exception):
    """The request cannot be handled: answer ``status`` with ``reason`` (a fixed text)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or ``Refused(413)`` as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Refused(400, "Content-Length inválido")
        if int(declared) > limit:
            raise Refused(413, "Mensaje demasiado grande")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Refused(413, "Mensaje demasiado grande")
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
    expected = signature.encode("utf-8")
    for spelling in _spellings(url):
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
    """``From`` exactly as received (``whatsapp:+5215512345678``): replies go there."""
    message_sid: str | None
    inbound: Inbound
    media: int = 0
    """How many files (photos, voice notes) came with the message."""


_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""Control characters XML 1.0 cannot hold: echoed in a reply they would make the TwiML invalid."""


def read_delivery(form: ImmutableMultiDict[str, str]) -> Delivery:
    """The message in ``form``, or ``Refused(400)`` without a usable ``From``."""
    sender = form.get("From", "").strip()
    customer = normalise_whatsapp(sender)
    if not _NUMBER.fullmatch(customer):
        raise Refused(400, "Falta el remitente (From)")
    text = form.get("Body", "") or form.get("ButtonText", "") or form.get("ButtonPayload", "")
    profile = form.get("ProfileName", "").strip()[:100] or None
    sid = form.get("MessageSid", "").strip()[:64] or None
    return Delivery(
        sender=sender,
        message_sid=sid,
        inbound=Inbound(
            customer=customer,
            text=_XML_UNSAFE.sub("", text).strip()[:MAX_TEXT],
            location=_location(form),
            profile_name=profile,
            message_id=sid,
        ),
        media=_count(form.get("NumMedia", "")),
    )


def _location(form: ImmutableMultiDict[str, str]) -> Location | None:
    try:
        latitude = float(form.get("Latitude", ""))
        longitude = float(form.get("Longitude", ""))
    except ValueError:
        return None
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    parts = [form.get(name, "").strip() for name in ("Label", "Address")]
    label = ", ".join(part for part in parts if part)[:300] or None
    return Location(latitude, longitude, label)


def _count(raw: str) -> int:
    return int(raw) if raw.strip().isdigit() else 0
