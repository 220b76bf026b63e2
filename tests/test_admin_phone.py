"""The admin's number is read in the restaurant's country, which only the flows know.

The settings come first: a number with its country code (+52..., +1...) is read at once; one
without waits for ``restaurant.yaml``'s ``country``, and the server refuses to start, in one line,
when it is no number there.
"""

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
    "PUBLIC_URL": "https://bot.example.com/",
    "TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000000",
    "TWILIO_WHATSAPP_CLIENTES": "whatsapp:+14155238886",
    "SUPABASE_URL": "https://abcd.supabase.co",
    "SUPABASE_KEY": "service-role-key",
}


def test_a_number_with_its_country_code_is_read_at_once_and_kept():
    settings = load_settings({**PRODUCTION, "ADMIN_PHONE_NUMBER": "+1 415 555 0148"})
    assert settings.admin_phone_number == "+14155550148"
    assert settings.for_restaurant("MX").admin_phone_number == "+14155550148"  # the code wins


def test_a_number_without_its_country_code_waits_for_the_restaurant_s_country():
    settings = load_settings({**PRODUCTION, "ADMIN_PHONE_NUMBER": "(415) 555-0148"})
    assert settings.admin_phone_number is None
    assert settings.for_restaurant("US").admin_phone_number == "+14155550148"
    assert load_settings({"ADMIN_PHONE_NUMBER": "81 1234 5678"}).for_restaurant("MX").admin_phone_number == "+528112345678"


def test_a_number_that_is_none_in_the_restaurant_s_country_is_a_clear_error():
    settings = load_settings({**PRODUCTION, "ADMIN_PHONE_NUMBER": "123 4567"})
    with pytest.raises(SettingsError) as raised:
        settings.for_restaurant("US")
    assert "ADMIN_PHONE_NUMBER (123 4567)" in str(raised.value) and "en US" in str(raised.value)


@pytest.mark.parametrize("number", ["12345", "not a phone", "+1 555 0100", "55-1234-5678 ext"])
def test_what_is_no_phone_number_anywhere_is_refused_with_the_settings(number):
    with pytest.raises(SettingsError, match="ADMIN_PHONE_NUMBER"):
        load_settings({**PRODUCTION, "ADMIN_PHONE_NUMBER": number})


def test_without_an_admin_number_nothing_changes():
    settings = load_settings({})
    assert settings.for_restaurant("US") == settings and settings.admin_phone_number is None


def test_the_server_reads_the_admin_number_in_the_country_of_its_flows(tmp_path):
    """A Mexican number without +52 is no number for the San Francisco example: the server says so and stops."""
    environ = {k: v for k, v in os.environ.items() if k != "RENDER"}
    environ.update(PRODUCTION, ADMIN_PHONE_NUMBER="81 1234 5678", FLOWS_DIR=str(ROOT / "examples" / "nonna-rosa" / "flows"))
    result = subprocess.run(
        [sys.executable, "-m", "engine.http.serve", "--port", "1"],
        cwd=tmp_path, env={**environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "ADMIN_PHONE_NUMBER (81 1234 5678) no es un número válido en US" in lines[0]
