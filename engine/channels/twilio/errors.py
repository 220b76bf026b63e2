"""What kind of failure a Twilio send met: ``classify(status, code)``.

A transient failure (HTTP 429, any 5xx, no answer at all) is tried again; a permanent one (a
Twilio error code saying the number can never receive this message, or any other 4xx) is not, it
is logged and reported to the admin; Twilio's 63016 (outside WhatsApp's 24-hour window) has its
own verdict, because the caller can still reach the person with an approved template.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class SendVerdict(str, Enum):
    """What happened to one send."""

    SENT = "sent"
    RETRY = "retry"
    """Transient: try again after ``RetryPolicy.delay``."""
    PERMANENT = "permanent"
    """Never going to work: drop it, log it, tell the admin."""
    WINDOW = "window"
    """Twilio 63016: outside the 24-hour window, only an approved template can go out."""


OUTSIDE_WINDOW = 63016

PERMANENT_CODES: dict[int, str] = {
    21211: "número de destino inválido",
    21408: "no hay permiso para enviar a esa región",
    21610: "el destinatario se dio de baja (STOP)",
    21612: "Twilio no puede enviar a ese número desde este remitente",
    21614: "el número de destino no es un móvil válido",
    63003: "el número no está en WhatsApp",
    63024: "destinatario inválido para WhatsApp",
}
"""Twilio error codes that retrying never fixes, with the words used in logs and admin reports.

Any other 4xx (except 429) is permanent too; this table only gives the common ones a clear text.
"""


def classify(status: int | None, code: int | None = None) -> SendVerdict:
    """The verdict for a failed send: ``status`` is the HTTP status (None when no answer came:
    a network error or a timeout) and ``code`` Twilio's error code, when the answer had one."""
    if status is None:
        return SendVerdict.RETRY
    if code == OUTSIDE_WINDOW:
        return SendVerdict.WINDOW
    if status == 429 or status >= 500:
        return SendVerdict.RETRY
    if code in PERMANENT_CODES or 400 <= status < 500:
        return SendVerdict.PERMANENT
    if 200 <= status < 300:
        return SendVerdict.SENT
    # A 1xx/3xx from the API is not something Twilio does; keeping the message is the safe side.
    return SendVerdict.RETRY


def describe(status: int | None, code: int | None) -> str:
    """A short Spanish description of a failure, for logs and for the admin."""
    if status is None:
        return "sin respuesta de Twilio (red o tiempo agotado)"
    if code == OUTSIDE_WINDOW:
        return "fuera de la ventana de 24 horas de WhatsApp (63016)"
    if code in PERMANENT_CODES:
        return f"{PERMANENT_CODES[code]} ({code})"
    if code is not None and code != status:
        return f"Twilio respondió {status}, error {code}"
    return f"Twilio respondió {status}"


@dataclass(frozen=True)
class SendResult:
    verdict: SendVerdict
    sid: str | None = None
    """Twilio's message SID (``SM...``) when the message was accepted."""
    status: int | None = None
    """The HTTP status of a failure (None: no answer)."""
    code: int | None = None
    """Twilio's error code of a failure, when it gave one."""
    detail: str = ""
    """A short description of a failure, fit for a log (no secrets, no message text)."""

    @property
    def sent(self) -> bool:
        return self.verdict is SendVerdict.SENT
