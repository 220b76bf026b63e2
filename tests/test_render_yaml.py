from __future__ import annotations

from pathlib import Path

import yaml

BLUEPRINT = Path(__file__).resolve().parent.parent / "render.yaml"


def services() -> dict[str, dict]:
    document = yaml.safe_load(BLUEPRINT.read_text())
    return {service["type"]: service for service in document["services"]}


def env(service: dict) -> dict[str, dict]:
    return {entry["key"]: entry for entry in service["envVars"]}


def test_the_web_service_builds_starts_and_reports_health():
    web = services()["web"]
    assert web["runtime"] == "python"
    # The build checks the flows and records them as checked: a start after each sleep trusts the record.
    assert web["buildCommand"] == 'pip install . && rinconcito validate "${FLOWS_DIR:-flows}"'
    assert web["startCommand"] == "rinconcito serve --host 0.0.0.0"
    assert web["healthCheckPath"] == "/health"


def test_redis_url_comes_from_the_key_value_service():
    everything = services()
    key_value = everything["keyvalue"]
    wiring = env(everything["web"])["REDIS_URL"]["fromService"]
    assert wiring == {"type": "keyvalue", "name": key_value["name"], "property": "connectionString"}
    assert env(everything["web"])["REDIS_ENABLED"]["value"] == "true"


def test_the_key_value_service_is_free_private_and_evicts_only_keys_with_a_ttl():
    key_value = services()["keyvalue"]
    assert key_value["plan"] == "free"
    # Sessions, seen marks, rate limits and locks carry a TTL and may go when memory is full; the
    # queues carry none and must not (tests/test_durability.py fills a redis-server under this policy).
    assert key_value["maxmemoryPolicy"] == "volatile-lru"
    assert key_value["ipAllowList"] == []


def test_secrets_are_asked_for_never_committed_and_production_is_on():
    variables = env(services()["web"])
    for secret in ("PUBLIC_URL", "TWILIO_AUTH_TOKEN", "ADMIN_PHONE_NUMBER"):
        assert variables[secret] == {"key": secret, "sync": False}
    assert variables["APP_ENV"]["value"] == "production"
