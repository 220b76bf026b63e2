"""The panel's doors: its settings, the signed cookie, CSRF tokens, sign-in limits and headers.

The cookie holds ``{"a": signed in?, "c": CSRF token, "e": expiry}`` signed with HMAC-SHA256 under
the panel's key; it is HttpOnly, ``SameSite=Strict``, ``Secure`` in production and scoped to
``/panel``. Every change is a POST that must carry the cookie's CSRF token (a form field or the
``X-CSRF-Token`` header) and, when the browser sends one, an ``Origin`` of this very host.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable

from starlette.datastructures import Secret
from starlette.requests import Request
from starlette.responses import Response

from engine.storage.store import Incr, Store

COOKIE = "rc_panel"
COOKIE_PATH = "/panel"
SESSION_SECONDS = 14 * 3600
"""A signed-in panel lasts a long kitchen shift, then asks for the password again."""
ANONYMOUS_SECONDS = 3600
"""A sign-in form's token lasts an hour."""
CSRF_HEADER = "x-csrf-token"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
OPEN_WARNING = (
    "🚨 Sin PANEL_PASSWORD: el panel en /panel está ABIERTO, sin contraseña. Solo para probar en tu "
    "máquina; en producción el panel queda apagado sin ella."
)
OFF_NOTICE = "🔒 Sin PANEL_PASSWORD: el panel (/panel) está apagado en producción."


@dataclass(frozen=True)
class PanelConfig:
    """How the panel is reached, read from the service's settings."""

    password: str | None
    """``PANEL_PASSWORD``; None: off in production, open (no sign-in) elsewhere."""
    key: bytes
    """Signs the cookie: ``PANEL_SECRET``, else derived from the password, else random per process."""
    production: bool
    """Secure cookies; without a password the panel answers 404."""
    poll_seconds: float = 2.0
    """How often a live board looks at the order store and the shared store for news."""

    @property
    def enabled(self) -> bool:
        return self.password is not None or not self.production

    @property
    def open(self) -> bool:
        """No password on a laptop: every visitor is signed in."""
        return self.password is None and not self.production


def panel_config(password: Secret | None, secret: Secret | None, production: bool) -> PanelConfig:
    """The panel's configuration from ``PANEL_PASSWORD`` and ``PANEL_SECRET``."""
    plain = str(password) if password is not None else None
    if secret is not None:
        key = hashlib.sha256(b"rinconcito-panel-key|" + str(secret).encode()).digest()
    elif plain is not None:
        # Several instances with the same password sign alike; a new password signs everyone out.
        key = hashlib.sha256(b"rinconcito-panel-password|" + plain.encode()).digest()
    else:
        key = secrets.token_bytes(32)
    return PanelConfig(plain, key, production)


@dataclass(frozen=True)
class Visit:
    """What the cookie says about this browser."""

    signed_in: bool
    csrf: str
    expires: float


class Cookies:
    """Signs and reads the panel's cookie."""

    def __init__(self, config: PanelConfig, now: Callable[[], float] = time.time) -> None:
        self._config = config
        self._now = now

    def read(self, request: Request) -> Visit | None:
        raw = request.cookies.get(COOKIE)
        if not raw or raw.count(".") != 1 or len(raw) > 512:
            return None
        body, signature = raw.split(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            data = json.loads(_unb64(body))
            visit = Visit(bool(data["a"]), str(data["c"]), float(data["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        return visit if visit.expires > self._now() and len(visit.csrf) >= 16 else None

    def renewed(self, visit: Visit) -> Visit | None:
        """A signed-in visit past half its life, extended (same CSRF token: open pages keep working)."""
        if visit.signed_in and visit.expires - self._now() < SESSION_SECONDS / 2:
            return Visit(True, visit.csrf, self._now() + SESSION_SECONDS)
        return None

    def visit(self, signed_in: bool) -> Visit:
        seconds = SESSION_SECONDS if signed_in else ANONYMOUS_SECONDS
        return Visit(signed_in, secrets.token_urlsafe(24), self._now() + seconds)

    def attach(self, response: Response, visit: Visit) -> None:
        body = _b64(json.dumps({"a": int(visit.signed_in), "c": visit.csrf, "e": int(visit.expires)}).encode())
        response.set_cookie(
            COOKIE, f"{body}.{self._sign(body)}", max_age=max(int(visit.expires - self._now()), 0),
            path=COOKIE_PATH, secure=self._config.production, httponly=True, samesite="strict",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path=COOKIE_PATH, secure=self._config.production, httponly=True, samesite="strict")

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._config.key, body.encode(), hashlib.sha256).digest())


def csrf_ok(request: Request, visit: Visit | None, form: Any = None) -> bool:
    """The change carries this browser's token and, if the browser says where it comes from, from here."""
    if visit is None:
        return False
    origin = request.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host", ""):
        return False  # another site, or an opaque origin ("null")
    given = request.headers.get(CSRF_HEADER) or (str(form.get("csrf", "")) if form is not None else "")
    return bool(given) and hmac.compare_digest(given.encode(), visit.csrf.encode())


class SignInLimits:
    """Sign-in attempts per client address and in all, per window, counted in the shared store
    (so every instance counts the same attempts)."""

    def __init__(self, store: Store, now: Callable[[], float], per_client: int = 5, overall: int = 60,
                 window: int = 300) -> None:
        self._store, self._now = store, now
        self.per_client, self.overall, self.window = per_client, overall, window

    async def admit(self, client: str) -> bool:
        slot = int(self._now() // self.window)
        digest = hashlib.sha256(client.encode()).hexdigest()[:16]
        mine, everyone = await self._store.run(
            [Incr(f"panel:signin:{slot}:{digest}", self.window * 2), Incr(f"panel:signin:{slot}:all", self.window * 2)]
        )
        return int(mine) <= self.per_client and int(everyone) <= self.overall


def client_address(request: Request, behind_proxy: bool) -> str:
    """Who is trying: behind Render's proxy the address it appended last to ``X-Forwarded-For``
    (the ones before it are whatever the client claimed)."""
    if behind_proxy:
        forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return request.client.host if request.client else "?"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
