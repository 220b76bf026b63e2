"""Phone numbers: WhatsApp's Mexican quirk, validation, and masking for logs."""

from __future__ import annotations

import phonenumbers

WHATSAPP_PREFIX = "whatsapp:"


def normalise_whatsapp(address: str) -> str:
    """``whatsapp:+5215512345678`` or ``+5215512345678`` -> ``+525512345678``.

    WhatsApp writes Mexican mobiles with the old mobile ``1`` after ``+52``; ``phonenumbers``
    rightly calls that invalid, and the same customer may arrive either way. One form for both.
    """
    number = address.removeprefix(WHATSAPP_PREFIX).strip()
    if number.startswith("+521") and len(number) == 14:
        number = "+52" + number[4:]
    return number


def whatsapp_id(number: str) -> str:
    """The address WhatsApp itself uses: ``+525512345678`` -> ``whatsapp:+5215512345678``.

    The inverse of ``normalise_whatsapp`` for sending: WhatsApp still names Mexican mobiles with
    the ``1`` after ``+52`` (that is the ``From`` its webhooks carry), so a message the bot sends
    on its own goes to that form, as the TwiML replies go to the exact ``From``.
    """
    bare = normalise_whatsapp(number)
    if bare.startswith("+52") and len(bare) == 13:
        bare = "+521" + bare[3:]
    return WHATSAPP_PREFIX + bare


def parse_phone(text: str, region: str | None) -> str | None:
    """A phone number as typed by a person, in E.164, or None when it is not a valid number.

    Numbers written without a country code are read in ``region`` (``55 1234 5678`` in MX); with
    no region, only numbers written with one (``+52...``) can be read.
    """
    candidate = normalise_whatsapp(text.strip())
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(address: str) -> str:
    """``whatsapp:+5215512345678`` -> ``whatsapp:+52155****5678``: enough to tell customers apart."""
    prefix = WHATSAPP_PREFIX if address.startswith(WHATSAPP_PREFIX) else ""
    number = address.removeprefix(WHATSAPP_PREFIX)
    if len(number) <= 8:
        return prefix + "****"
    return f"{prefix}{number[:-8]}****{number[-4:]}"
