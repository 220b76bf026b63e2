"""The webhook service's settings: read once from the environment (and an optional ``.env``).

Every value has a default that suits ``make run`` on a laptop (memory sessions, unsigned requests
accepted). Production (``APP_ENV=production``, or ``RENDER`` set as Render does) refuses to start
without the secrets it needs. Every missing or wrong setting is reported at once, one line each, so
a deployment is fixed in one go rather than one restart per variable.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Mapping, Sequence

from starlette.config import Config
from starlette.datastructures import Secret

from engine.orders.store import key_role
from engine.runtime.phones import parse_phone

_NATIONAL = re.compile(r"[0-9(][0-9 ()\-.]*")
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(Exception):
    """Settings are missing or wrong: ``problems`` holds one line for the operator per problem,
    and the text is those lines, one under the other."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Settings:
    app_env: str = "development"
    """``development``, ``test`` or ``production``."""
    render: bool = False
    """Running on Render (Render sets ``RENDER``): production rules apply."""
    port: int = 8000
    public_url: str | None = None
    """The address Twilio calls (``https://bot.example.com``), used to check signatures."""
    twilio_auth_token: Secret | None = None
    admin_phone_number: str | None = None
    """E.164 (``+525512345678``) once validated: at once when written with its country code, else by
    ``for_restaurant`` once the restaurant's country is known."""
    admin_phone_text: str | None = None
    """``ADMIN_PHONE_NUMBER`` as written."""
    redis_url: str | None = None
    redis_enabled: bool = False
    redis_key_prefix: str = "rinconcito:"
    redis_probe_seconds: float = 5.0
    """While Redis is down, how often a message tries it again."""
    rate_limit_per_customer: int = 20
    """Messages a minute per customer; 0 turns the limit off."""
    rate_limit_global: int = 600
    """Messages a minute for the whole bot (all instances together); 0 turns the limit off."""
    max_body_bytes: int = 64 * 1024
    log_level: str = "INFO"
    log_format: str = "text"
    flows_dir: Path = Path("flows")
    test_clock_file: Path | None = None
    """Only with ``APP_ENV=test``: a file holding seconds to add to the clock (tests move time)."""
    twilio_account_sid: str | None = None
    twilio_whatsapp_from: str | None = None
    """``TWILIO_WHATSAPP_CLIENTES``: the bot's sender, ``whatsapp:+...``."""
    admin_template_sid: str | None = None
    """An approved template for the admin outside WhatsApp's 24-hour window (Twilio error 63016)."""
    supabase_url: str | None = None
    supabase_key: Secret | None = None
    """The service-role key (never the anon key)."""
    orders_db_path: Path = Path("data/orders.sqlite3")
    frontend_url: str | None = None
    """The restaurant's web front end: the only origin CORS allows on ``/api``."""
    admin_api_token: Secret | None = None
    """Bearer token for ``/api/orders``; without it those routes answer 401."""
    twilio_api_base: str | None = None
    """Only with ``APP_ENV=test``: where Twilio's REST API is (a local fake)."""
    panel_password: Secret | None = None
    """Sign-in to ``/panel``; without it the panel is off in production and open on a laptop."""
    panel_secret: Secret | None = None
    """Key of the panel's signed cookie (default: derived from ``PANEL_PASSWORD``)."""
    twilio_content_api_base: str | None = None
    """Only with ``APP_ENV=test``: where Twilio's Content API is (a local fake)."""
    problems: tuple[str, ...] = field(default=(), compare=False)
    """Problems found while reading, one line each (``check()`` raises them all together)."""

    @property
    def sends_through_twilio(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_whatsapp_from)

    @property
    def production(self) -> bool:
        return self.app_env == "production" or self.render

    def check(self) -> Settings:
        """These settings, or ``SettingsError`` with every reason they cannot run."""
        if self.problems:
            raise SettingsError(self.problems)
        return self

    def for_restaurant(self, country: str) -> Settings:
        """These settings with the admin's number read in the restaurant's ``country`` (restaurant.yaml).

        The settings are read before the flows, so a number written without its country code
        (``55 1234 5678``) waits until here; ``SettingsError`` when it is no number there.
        """
        if self.admin_phone_text is None or self.admin_phone_number is not None:
            return self
        number = parse_phone(self.admin_phone_text, country)
        if number is None:
            raise SettingsError([
                f"ADMIN_PHONE_NUMBER ({self.admin_phone_text}) no es un número válido en {country}, el país de "
                "restaurant.yaml: corrígelo o escríbelo con su lada internacional (ej. +525512345678)."
            ])
        return replace(self, admin_phone_number=number)


def load_settings(environ: Mapping[str, str], env_file: Path | None = None) -> Settings:
    """Settings from ``environ`` (and ``env_file`` when it exists), checked."""
    config = Config(env_file if env_file is not None and env_file.is_file() else None, environ=environ)
    return read_settings(config).check()


def read_settings(config: Config) -> Settings:
    """Settings from a starlette ``Config``; problems are collected, not raised (see ``check``)."""
    problems: list[str] = []

    def number(key: str, default: float, cast: Callable[[str], float] = int, minimum: float = 0) -> float:
        raw = config(key, default=None)
        if raw is None or str(raw).strip() == "":
            return default
        try:
            value: float = cast(str(raw).strip())
        except ValueError:
            problems.append(f"{key} debe ser un número (vale {str(raw)!r}).")
            return default
        if not math.isfinite(value):
            problems.append(f"{key} debe ser un número finito (vale {str(raw)!r}).")
            return default
        if value < minimum:
            problems.append(f"{key} debe ser al menos {minimum} (vale {value}).")
            return default
        return value

    def text(key: str, default: str | None = None) -> str | None:
        raw = config(key, default=None)
        return raw.strip() if raw is not None and raw.strip() else default

    app_env = (text("APP_ENV", "development") or "development").lower()
    render = text("RENDER") not in (None, "false", "0", "no")
    production = app_env == "production" or render

    redis_url = text("REDIS_URL")
    redis_enabled = _flag(text("REDIS_ENABLED"), default=redis_url is not None)
    if redis_enabled and redis_url is None:
        redis_url = "redis://127.0.0.1:6379/0"

    public_url = text("PUBLIC_URL") or text("RENDER_EXTERNAL_URL")
    if public_url is not None:
        public_url = public_url.rstrip("/")
        if not public_url.startswith(("https://", "http://")):
            problems.append(f"PUBLIC_URL debe empezar con https:// (vale {public_url!r}).")

    token_text = text("TWILIO_AUTH_TOKEN")
    token = Secret(token_text) if token_text else None

    admin_raw = text("ADMIN_PHONE_NUMBER")
    admin = parse_phone(admin_raw, None) if admin_raw else None
    # Without its country code the number is read in the restaurant's country (``for_restaurant``);
    # here it only has to look like one.
    admin_valid = admin is not None or (admin_raw is not None and _national_number(admin_raw))

    log_level = (text("LOG_LEVEL", "INFO") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        problems.append(f"LOG_LEVEL debe ser uno de {', '.join(LOG_LEVELS)} (vale {log_level!r}).")
        log_level = "INFO"
    log_format = (text("LOG_FORMAT", "text") or "text").lower()
    if log_format not in LOG_FORMATS:
        problems.append(f"LOG_FORMAT debe ser text o json (vale {log_format!r}).")
        log_format = "text"

    clock_file = text("TEST_CLOCK_FILE") if app_env == "test" else None

    account_sid = text("TWILIO_ACCOUNT_SID")
    sender = text("TWILIO_WHATSAPP_CLIENTES")
    if sender is not None and not sender.startswith("whatsapp:"):
        sender = "whatsapp:" + sender
    supabase_url, supabase_key = text("SUPABASE_URL"), text("SUPABASE_KEY")
    if supabase_key is not None and key_role(supabase_key) == "anon":
        problems.append("SUPABASE_KEY es la llave anon (pública): el servidor necesita la llave service_role.")
    if (supabase_url is None) != (supabase_key is None):
        problems.append("SUPABASE_URL y SUPABASE_KEY van juntas: falta " + ("SUPABASE_KEY." if supabase_key is None else "SUPABASE_URL."))
    orders_path = text("ORDERS_DB_PATH")
    frontend = text("FRONTEND_URL")
    api_token = text("ADMIN_API_TOKEN")

    if production:
        if account_sid is None or sender is None:
            problems.append(
                "Faltan TWILIO_ACCOUNT_SID y TWILIO_WHATSAPP_CLIENTES: sin ellas los avisos al encargado no salen."
            )
        if supabase_url is None and supabase_key is None and orders_path is None:  # (half: said above)
            problems.append(
                "Faltan SUPABASE_URL y SUPABASE_KEY: en Render el disco se borra en cada despliegue "
                "(o apunta ORDERS_DB_PATH a un disco persistente)."
            )
        if token is None:
            problems.insert(0, "Falta TWILIO_AUTH_TOKEN: en producción cada webhook debe ir firmado por Twilio.")
        if admin_raw is None:
            problems.insert(0, "Falta ADMIN_PHONE_NUMBER: en producción hace falta el WhatsApp del encargado.")
        elif not admin_valid:
            problems.insert(0, "ADMIN_PHONE_NUMBER no es un número de teléfono válido (ej. +525512345678).")
        if public_url is None:
            problems.append("Falta PUBLIC_URL (o RENDER_EXTERNAL_URL): sin ella no se pueden comprobar las firmas de Twilio.")
    elif admin_raw is not None and not admin_valid:
        problems.append("ADMIN_PHONE_NUMBER no es un número de teléfono válido (ej. +525512345678).")

    return Settings(
        app_env=app_env,
        render=render,
        port=int(number("PORT", 8000, minimum=1)),
        public_url=public_url,
        twilio_auth_token=token,
        admin_phone_number=admin,
        admin_phone_text=admin_raw,
        redis_url=redis_url if redis_enabled else None,
        redis_enabled=redis_enabled,
        redis_key_prefix=text("REDIS_KEY_PREFIX", "rinconcito:") or "rinconcito:",
        redis_probe_seconds=float(number("REDIS_PROBE_SECONDS", 5.0, cast=float)),
        rate_limit_per_customer=int(number("RATE_LIMIT_PER_CUSTOMER", 20)),
        rate_limit_global=int(number("RATE_LIMIT_GLOBAL", 600)),
        max_body_bytes=int(number("MAX_BODY_BYTES", 64 * 1024, minimum=1024)),
        log_level=log_level,
        log_format=log_format,
        flows_dir=Path(text("FLOWS_DIR", "flows") or "flows"),
        test_clock_file=Path(clock_file) if clock_file else None,
        twilio_account_sid=account_sid,
        twilio_whatsapp_from=sender,
        admin_template_sid=text("ADMIN_TEMPLATE_SID"),
        supabase_url=supabase_url,
        supabase_key=Secret(supabase_key) if supabase_key else None,
        orders_db_path=Path(orders_path) if orders_path else Path("data/orders.sqlite3"),
        frontend_url=frontend.rstrip("/") if frontend else None,
        admin_api_token=Secret(api_token) if api_token else None,
        twilio_api_base=text("TWILIO_API_BASE") if app_env == "test" else None,
        panel_password=Secret(text("PANEL_PASSWORD") or "") if text("PANEL_PASSWORD") else None,
        panel_secret=Secret(text("PANEL_SECRET") or "") if text("PANEL_SECRET") else None,
        twilio_content_api_base=text("TWILIO_CONTENT_API_BASE") if app_env == "test" else None,
        problems=tuple(problems),
    )


def _national_number(raw: str) -> bool:
    """Written without a country code, and shaped like a phone number: 6 to 15 digits, spaces, dashes."""
    return _NATIONAL.fullmatch(raw) is not None and 6 <= sum(ch.isdigit() for ch in raw) <= 15


def _flag(raw: str | None, default: bool) -> bool:
    if raw is None:
        return default
    return raw.lower() in ("1", "true", "yes", "on", "si", "sí")
