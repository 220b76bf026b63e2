"""Reading Twilio's status callbacks: what became of a message the bot sent through the REST API.

Each send asks for them (``StatusCallback``); Twilio then posts a form to that URL for each change
of the message's status, signed like the webhook (``X-Twilio-Signature`` over the URL and the
fields). The fields read here: ``MessageSid`` (also sent as ``SmsSid``), ``MessageStatus`` (also
``SmsStatus``: queued, sending, sent, delivered, read, undelivered, failed), ``ErrorCode`` (only
for undelivered and failed) and ``AccountSid``; the others (``From``, ``To``, ``ApiVersion``,
``ChannelToAddress``...) are only signed. Twilio sends no callback for the initial status, and
does not promise the order in which callbacks arrive, so the caller must never move a status
backwards. See https://www.twilio.com/docs/messaging/guides/track-outbound-message-status and
https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.datastructures import ImmutableMultiDict

from engine.model.jobs import DELIVERY_STATUSES

_MESSAGE_SID = re.compile(r"(?:SM|MM)[0-9a-fA-F]{32}")
_CODE = re.compile(r"[0-9]{1,6}")


@dataclass(frozen=True, slots=True)
class StatusReport:
    """One status callback, its fields checked."""

    sid: str
    status: str
    """One of ``engine.model.jobs.DELIVERY_STATUSES``."""
    code: int | None
    account: str | None
    """``AccountSid``: the account that sent the message."""


def read_status(form: ImmutableMultiDict[str, str]) -> StatusReport | None:
    """The report in ``form``; None when it is not one the bot can use (no message SID, a status
    it does not know): such a callback is ignored, never an error."""
    if any(len(form.getlist(name)) > 1 for name in ("MessageSid", "MessageStatus", "ErrorCode", "AccountSid")):
        return None
    sid = form.get("MessageSid", form.get("SmsSid", "")).strip()
    status = form.get("MessageStatus", form.get("SmsStatus", "")).strip().lower()
    if not _MESSAGE_SID.fullmatch(sid) or status not in DELIVERY_STATUSES:
        return None
    raw_code = form.get("ErrorCode", "").strip()
    code = int(raw_code) if _CODE.fullmatch(raw_code) else None
    return StatusReport(sid, status, code, form.get("AccountSid", "").strip() or None)
