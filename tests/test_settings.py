from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.http.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "APP_ENV": "production",
    "TWILIO_AUTH_TOKEN": "super-secret-token",
    "ADMIN_PHONE_NUMBER": "whatsapp:+5215512345678",
    "PUBLIC_URL": "https://bot.example.com/",
    "TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000000",
    "TWILIO_WHATSAPP_CLIENTES": "whatsapp:+14155238886",
    "SUPABASE_URL": "https://abcd.supabase.co",
    "SUPABASE_KEY": "service-role-key",
    "ADMIN_API_TOKEN": "api-token",
}


def test_defaults_suit_a_laptop():
    settings = load_settings({})
    assert settings.app_env == "development" and not settings.production
    assert settings.port == 8000
    assert settings.redis_enabled is False and settings.redis_url is None
    assert settings.twilio_auth_token is None  # unsigned webhooks accepted, locally only
    assert settings.rate_limit_per_customer == 20
    assert settings.rate_limit_global == 600
    assert settings.max_body_bytes == 64 * 1024
    assert (settings.log_level, settings.log_format) == ("INFO", "text")
    assert settings.flows_dir == Path("flows")
    assert settings.public_url is None


def test_redis_is_enabled_by_its_url_unless_turned_off():
    assert load_settings({"REDIS_URL": "redis://kv:6379"}).redis_enabled is True
    off = load_settings({"REDIS_URL": "redis://kv:6379", "REDIS_ENABLED": "false"})
    assert off.redis_enabled is False and off.redis_url is None
    local = load_settings({"REDIS_ENABLED": "true"})
    assert local.redis_url == "redis://127.0.0.1:6379/0"


def test_production_needs_the_twilio_token():
    environ = {k: v for k, v in PRODUCTION.items() if k != "TWILIO_AUTH_TOKEN"}
    with pytest.raises(SettingsError, match="TWILIO_AUTH_TOKEN"):
        load_settings(environ)


def test_render_counts_as_production():
    with pytest.raises(SettingsError, match="TWILIO_AUTH_TOKEN"):
        load_settings({"RENDER": "true", "ADMIN_PHONE_NUMBER": "+525512345678", "RENDER_EXTERNAL_URL": "https://x.onrender.com"})


@pytest.mark.parametrize("number", ["12345", "+52 55 1234", "not a phone", "+1 555 0100"])
def test_production_refuses_an_invalid_admin_number(number):
    with pytest.raises(SettingsError, match="ADMIN_PHONE_NUMBER"):
        load_settings({**PRODUCTION, "ADMIN_PHONE_NUMBER": number})


def test_production_refuses_a_missing_admin_number():
    environ = {k: v for k, v in PRODUCTION.items() if k != "ADMIN_PHONE_NUMBER"}
    with pytest.raises(SettingsError, match="ADMIN_PHONE_NUMBER"):
        load_settings(environ)


def test_production_needs_the_public_url_to_check_signatures():
    environ = {k: v for k, v in PRODUCTION.items() if k != "PUBLIC_URL"}
    with pytest.raises(SettingsError, match="PUBLIC_URL"):
        load_settings(environ)
    on_render = load_settings({**environ, "RENDER_EXTERNAL_URL": "https://rinconcito.onrender.com"})
    assert on_render.public_url == "https://rinconcito.onrender.com"


def test_a_complete_production_environment_starts_and_normalises_the_admin_number():
    settings = load_settings(PRODUCTION)
    assert settings.production and settings.twilio_auth_token is not None
    assert settings.admin_phone_number == "+525512345678"
    assert settings.public_url == "https://bot.example.com"


def test_the_token_never_shows_in_a_repr():
    settings = load_settings(PRODUCTION)
    assert "super-secret-token" not in repr(settings)
    assert "super-secret-token" not in str(settings)
    assert str(settings.twilio_auth_token) == "super-secret-token"
    for secret in ("service-role-key", "api-token"):
        assert secret not in repr(settings)


@pytest.mark.parametrize(
    "missing, says",
    [
        (("TWILIO_ACCOUNT_SID",), "TWILIO_ACCOUNT_SID"),
        (("TWILIO_WHATSAPP_CLIENTES",), "TWILIO_WHATSAPP_CLIENTES"),
        (("SUPABASE_URL", "SUPABASE_KEY"), "SUPABASE_URL"),
    ],
)
def test_production_refuses_settings_that_would_lose_orders_or_notices(missing, says):
    environ = {k: v for k, v in PRODUCTION.items() if k not in missing}
    with pytest.raises(SettingsError, match=says):
        load_settings(environ)


def test_production_may_keep_orders_in_a_file_on_a_persistent_disk():
    environ = {k: v for k, v in PRODUCTION.items() if not k.startswith("SUPABASE")}
    settings = load_settings({**environ, "ORDERS_DB_PATH": "/var/data/orders.sqlite3"})
    assert str(settings.orders_db_path) == "/var/data/orders.sqlite3"


def test_half_a_supabase_configuration_is_refused_even_locally():
    with pytest.raises(SettingsError, match="SUPABASE_KEY"):
        load_settings({"SUPABASE_URL": "https://abcd.supabase.co"})


def test_the_sender_gets_its_whatsapp_prefix():
    settings = load_settings({"TWILIO_WHATSAPP_CLIENTES": "+14155238886"})
    assert settings.twilio_whatsapp_from == "whatsapp:+14155238886"


@pytest.mark.parametrize(
    "key, value",
    [("PORT", "eighty"), ("RATE_LIMIT_PER_CUSTOMER", "-1"), ("MAX_BODY_BYTES", "10"),
     ("LOG_LEVEL", "LOUD"), ("LOG_FORMAT", "xml")],
)
def test_a_wrong_value_is_refused_naming_the_variable(key, value):
    with pytest.raises(SettingsError, match=key):
        load_settings({key: value})


def test_values_come_from_the_env_file_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("RATE_LIMIT_PER_CUSTOMER=5\nLOG_FORMAT=json\n# a comment\nPORT='9000'\n")
    settings = load_settings({"PORT": "9100"}, env_file)
    assert settings.rate_limit_per_customer == 5
    assert settings.log_format == "json"
    assert settings.port == 9100
    assert load_settings({}, tmp_path / "missing.env").port == 8000


def test_the_test_clock_file_only_counts_in_the_test_environment(tmp_path):
    path = str(tmp_path / "offset")
    assert load_settings({"TEST_CLOCK_FILE": path}).test_clock_file is None
    assert load_settings({"TEST_CLOCK_FILE": path, "APP_ENV": "test"}).test_clock_file == Path(path)


def test_the_server_refuses_to_start_in_production_with_one_clear_line(tmp_path):
    environ = {k: v for k, v in os.environ.items() if k not in ("TWILIO_AUTH_TOKEN", "RENDER")}
    environ.update({k: v for k, v in PRODUCTION.items() if k != "TWILIO_AUTH_TOKEN"})
    result = subprocess.run(
        [sys.executable, "-m", "engine.http.serve", "--port", "1"],
        cwd=tmp_path, env={**environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "TWILIO_AUTH_TOKEN" in lines[0]


def test_an_anon_supabase_key_is_refused_in_one_line():
    with pytest.raises(SettingsError, match="llave anon"):
        load_settings({"SUPABASE_URL": "https://abcd.supabase.co", "SUPABASE_KEY": "sb_publishable_abc123"})


def test_production_lists_every_missing_or_wrong_setting_at_once():
    environ = {
        "APP_ENV": "production", "ADMIN_PHONE_NUMBER": "12345", "PUBLIC_URL": "ftp://bot", "PORT": "eighty",
        "LOG_LEVEL": "LOUD", "SUPABASE_KEY": "sb_publishable_abc123", "REDIS_PROBE_SECONDS": "nan",
    }
    with pytest.raises(SettingsError) as raised:
        load_settings(environ)
    problems = raised.value.problems
    expected = [
        "ADMIN_PHONE_NUMBER", "TWILIO_AUTH_TOKEN", "PUBLIC_URL", "PORT", "LOG_LEVEL", "llave anon",
        "SUPABASE_URL", "TWILIO_ACCOUNT_SID", "REDIS_PROBE_SECONDS",
    ]
    for says in expected:
        assert sum(says in problem for problem in problems) == 1, (says, problems)
    assert len(problems) == len(expected), problems  # one line per problem, none said twice
    assert str(raised.value).splitlines() == list(problems)
    assert all(problem.strip() and "\n" not in problem for problem in problems)


def test_a_single_problem_is_a_single_line():
    with pytest.raises(SettingsError) as raised:
        load_settings({"PORT": "eighty"})
    assert raised.value.problems == ("PORT debe ser un número (vale 'eighty').",)
    assert str(raised.value) == raised.value.problems[0]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_number_that_is_not_finite_is_refused(value):
    with pytest.raises(SettingsError, match="REDIS_PROBE_SECONDS debe ser un número finito"):
        load_settings({"REDIS_PROBE_SECONDS": value})


def test_the_server_refuses_to_start_listing_every_problem(tmp_path):
    environ = {k: v for k, v in os.environ.items() if k not in ("TWILIO_AUTH_TOKEN", "RENDER")}
    environ.update({k: v for k, v in PRODUCTION.items() if k not in ("TWILIO_AUTH_TOKEN", "PUBLIC_URL")})
    environ["LOG_FORMAT"] = "xml"
    result = subprocess.run(
        [sys.executable, "-m", "engine.http.serve", "--port", "1"],
        cwd=tmp_path, env={**environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3, result.stderr
    for says in ("TWILIO_AUTH_TOKEN", "PUBLIC_URL", "LOG_FORMAT"):
        assert sum(says in line for line in lines) == 1, (says, result.stderr)
