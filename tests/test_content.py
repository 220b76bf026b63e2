"""The flows' buttons and lists as Twilio Content templates, against a loopback fake of the
Content API (``twilio_content_fake``) and the shared Redis: made once for any number of
instances and restarts, found again by name, one set per version of the flows, and the bot left
on numbered text, saying so, when the Content API fails."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from servicekit import SHARED_REDIS, free_port, prefix  # noqa: F401  (fixture)
from twilio_content_fake import ACCOUNT_SID, AUTH_TOKEN, ContentFake

from engine.channels.twilio.content import (
    ContentApiError,
    ContentMap,
    content_request,
    content_variables,
    sync_content,
    tap_in,
    template_name,
    wanted,
)
from engine.channels.twilio.content_api import ContentClient
from engine.http.content import (
    LOCK_KEY,
    MAP_KEY,
    ContentBusy,
    ContentTemplates,
    content_at_start,
    content_client,
)
from engine.http.settings import load_settings
from engine.loading.pipeline import load_flows
from engine.runtime.choices_view import offer_for
from engine.runtime.flows import Flows
from engine.storage.redis_line import RedisLine
from engine.storage.redis_store import RedisStore
from engine.storage.store import MemoryStore

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = 10
"""El Rinconcito's questions offered as buttons or a list (see test_choices_view)."""


@pytest.fixture
def fake() -> Iterator[ContentFake]:
    server = ContentFake().start()
    yield server
    server.stop()


def client_for(fake: ContentFake, **kwargs: object) -> ContentClient:
    return ContentClient(ACCOUNT_SID, AUTH_TOKEN, base=fake.url, **kwargs)  # type: ignore[arg-type]


def quiet_log() -> logging.Logger:
    return logging.getLogger("rinconcito.test.content")


# ------------------------------------------------------------------ the templates' JSON


def test_buttons_become_a_quick_reply_whose_body_is_the_message(flows: Flows) -> None:
    offer = offer_for(flows, "pago")
    assert offer is not None
    request = content_request(offer, flows.hash, "es")
    assert request == {
        "friendly_name": f"rinconcito_{flows.hash}_buttons_pago",
        "language": "es",
        "variables": {"1": "ask_payment"},
        "types": {
            "twilio/quick-reply": {"body": "{{1}}", "actions": [
                {"id": "pago:efectivo", "title": "Efectivo"},
                {"id": "pago:tarjeta", "title": "Tarjeta"},
                {"id": "pago:transferencia", "title": "Transferencia"},
            ]},
            "twilio/text": {"body": "{{1}}"},
        },
    }
    assert content_variables(offer, "¿Cómo vas a pagar?\n1. Efectivo") == {"1": "¿Cómo vas a pagar?\n1. Efectivo"}


def test_four_options_become_a_list_picker(flows: Flows) -> None:
    offer = offer_for(flows, "corregir")
    assert offer is not None
    picker = content_request(offer, flows.hash, "es")["types"]["twilio/list-picker"]
    assert picker["body"] == "{{1}}" and picker["button"] == "Ver opciones"
    assert picker["items"][0] == {"id": "corregir:platillos", "item": "Platillos"}
    assert [item["id"] for item in picker["items"]] == ["corregir:platillos", "corregir:entrega", "corregir:pago", "corregir:nada"]


def test_a_title_that_changes_with_the_item_is_a_variable(flows: Flows) -> None:
    template = offer_for(flows, "pedir:tortilla")
    assert template is not None
    request = content_request(template, flows.hash, "es")
    actions = request["types"]["twilio/quick-reply"]["actions"]
    assert actions == [{"id": "pedir:tortilla:maiz", "title": "Maíz"}, {"id": "pedir:tortilla:harina", "title": "{{2}}"}]
    assert request["variables"] == {"1": "ask_option", "2": "Harina (+$15)"}
    assert request["friendly_name"] == f"rinconcito_{flows.hash}_buttons_pedir__tortilla"
    pastor = offer_for(flows, "pedir:tortilla", flows.menu.items["pastor"])
    assert pastor is not None
    assert content_variables(pastor, "¿Tortilla?") == {"1": "¿Tortilla?", "2": "Harina (+$3)"}


def test_a_map_survives_its_json_and_refuses_anything_else(flows: Flows) -> None:
    full = ContentMap(flows.hash, {offer.key: "HX" + "a" * 32 for offer in wanted(flows)})
    assert ContentMap.from_json(full.to_json()) == full
    assert full.covers(flows)
    assert not ContentMap(flows.hash, {"pago": "HX" + "a" * 32}).covers(flows)
    assert not ContentMap("0" * 12, dict(full.sids)).covers(flows)  # another version's
    for text in (None, "", "nope", "[]", '{"flows": 1}', '{"flows": "x"}'):
        assert ContentMap.from_json(text) is None, text
    assert ContentMap.from_json('{"flows": "x", "sids": {"pago": "SM1", "entrega": "HX1"}}') == ContentMap("x", {"entrega": "HX1"})


# ------------------------------------------------------------------ the client and the fake


@pytest.mark.anyio
async def test_create_list_and_fetch_as_twilio_answers(fake: ContentFake, flows: Flows) -> None:
    client = client_for(fake, page_size=3)
    try:
        made = [await client.create(content_request(offer, flows.hash, "es")) for offer in wanted(flows)[:7]]
        assert all(r.sid.startswith("HX") and len(r.sid) == 34 for r in made)
        listed = await client.list()  # three pages of three, three and one
        assert [r.sid for r in listed] == [r.sid for r in made]
        assert sum(1 for r in fake.requests if r.method == "GET" and r.path == "/v1/Content") == 3
        fetched = await client.fetch(made[2].sid)
        assert fetched is not None and fetched.friendly_name == made[2].friendly_name
        assert "twilio/quick-reply" in fetched.types and fetched.date_created.endswith("Z")
        fake.remove(made[2].sid)
        assert await client.fetch(made[2].sid) is None
        assert all(r.auth == (ACCOUNT_SID, AUTH_TOKEN) for r in fake.requests)
    finally:
        await client.aclose()


@pytest.mark.anyio
async def test_api_failures_are_content_api_errors(fake: ContentFake) -> None:
    wrong = ContentClient(ACCOUNT_SID, "not-the-token", base=fake.url)
    nobody = ContentClient(ACCOUNT_SID, AUTH_TOKEN, base=f"http://127.0.0.1:{free_port()}")
    client = client_for(fake)
    try:
        with pytest.raises(ContentApiError) as refused:
            await wrong.list()
        assert (refused.value.status, refused.value.code) == (401, 20003)
        assert "not-the-token" not in str(refused.value) and "not-the-token" not in repr(wrong)
        with pytest.raises(ContentApiError, match="got no answer"):
            await nobody.list()
        fake.fail(503)
        with pytest.raises(ContentApiError, match="answered 503"):
            await client.list()
        fake.fail(500, "GET", code=20500)
        with pytest.raises(ContentApiError, match=r"answered 500 \(error 20500\)"):
            await client.fetch("HX" + "0" * 32)
        with pytest.raises(ContentApiError) as invalid:
            await client.create({"friendly_name": "x", "language": "es", "types": {"twilio/quick-reply": {"body": "b", "actions": []}}})
        assert invalid.value.status == 400
    finally:
        for each in (wrong, nobody, client):
            await each.aclose()


# ------------------------------------------------------------------ made once, found again


@pytest.mark.anyio
async def test_a_sync_makes_what_is_missing_and_finds_the_rest(fake: ContentFake, flows: Flows) -> None:
    client = client_for(fake)
    try:
        first = await sync_content(flows, client)
        again = await sync_content(flows, client)
    finally:
        await client.aclose()
    assert len(first.created) == QUESTIONS and first.found == ()
    assert again.created == () and len(again.found) == QUESTIONS
    assert again.content == first.content and first.content.covers(flows)
    assert len(fake.created()) == QUESTIONS
    names = sorted(c["friendly_name"] for c in fake.contents())
    assert names == sorted(template_name(flows.hash, offer) for offer in wanted(flows))


@pytest.mark.anyio
async def test_two_instances_starting_together_make_the_templates_once(fake: ContentFake, flows: Flows, prefix: str) -> None:  # noqa: F811
    redis = [RedisLine.from_url(SHARED_REDIS), RedisLine.from_url(SHARED_REDIS)]
    clients = [client_for(fake), client_for(fake)]
    instances = [ContentTemplates(RedisStore(r, prefix), c, quiet_log()) for r, c in zip(redis, clients)]
    try:
        one, two = await asyncio.gather(*(instance.prepare(flows) for instance in instances))
        assert len(fake.created()) == QUESTIONS
        assert one.content == two.content and one.content.covers(flows)
        assert sorted((len(one.created), len(two.created))) == [0, QUESTIONS]  # one made them, the other waited
        assert await RedisStore(redis[0], prefix).get(LOCK_KEY + flows.hash) is None  # let go

        # A restart: new connections, the map is in Redis; each template is only looked at.
        fetches_before = sum(1 for r in fake.requests if r.path.startswith("/v1/Content/"))
        restarted = ContentTemplates(RedisStore(RedisLine.from_url(SHARED_REDIS), prefix), client_for(fake), quiet_log())
        after = await restarted.prepare(flows)
        assert after.content == one.content and after.created == ()
        assert len(fake.created()) == QUESTIONS
        assert sum(1 for r in fake.requests if r.path.startswith("/v1/Content/")) - fetches_before == QUESTIONS
    finally:
        for r in redis:
            await r.aclose()
        for c in clients:
            await c.aclose()


@pytest.mark.anyio
async def test_without_the_map_the_templates_are_found_in_twilio_by_name(fake: ContentFake, flows: Flows) -> None:
    client = client_for(fake)
    try:
        first = await ContentTemplates(MemoryStore(time.time), client, quiet_log()).prepare(flows)
        # Redis lost (or never there): a fresh memory store knows nothing, Twilio still has them.
        second = await ContentTemplates(MemoryStore(time.time), client, quiet_log()).prepare(flows)
    finally:
        await client.aclose()
    assert len(first.created) == QUESTIONS and second.created == ()
    assert second.content == first.content
    assert len(fake.created()) == QUESTIONS


@pytest.mark.anyio
async def test_a_template_deleted_in_twilio_is_made_again(fake: ContentFake, flows: Flows) -> None:
    store, client = MemoryStore(time.time), client_for(fake)
    try:
        first = await ContentTemplates(store, client, quiet_log()).prepare(flows)
        gone = first.content.sid_for("pago")
        assert gone is not None
        fake.remove(gone)
        second = await ContentTemplates(store, client, quiet_log()).prepare(flows)
    finally:
        await client.aclose()
    assert second.created == ("pago",)
    assert second.content.sid_for("pago") not in (None, gone)
    assert {k: v for k, v in second.content.sids.items() if k != "pago"} == {
        k: v for k, v in first.content.sids.items() if k != "pago"
    }
    assert len(fake.created()) == QUESTIONS + 1


@pytest.mark.anyio
async def test_edited_flows_get_their_own_templates_and_the_old_ones_stay(
    fake: ContentFake, flows: Flows, tmp_path: Path
) -> None:
    edited_dir = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", edited_dir)
    menu = edited_dir / "menu.yaml"
    menu.write_text(menu.read_text(encoding="utf-8").replace("price: 22\n", "price: 23\n", 1), encoding="utf-8")
    edited = load_flows(edited_dir)
    assert edited.hash != flows.hash
    store, client = MemoryStore(time.time), client_for(fake)
    try:
        old = await ContentTemplates(store, client, quiet_log()).prepare(flows)
        new = await ContentTemplates(store, client, quiet_log()).prepare(edited)
        # An instance still on the old version (a rolling deploy) keeps finding its own.
        old_again = await ContentTemplates(store, client, quiet_log()).prepare(flows)
    finally:
        await client.aclose()
    assert len(new.created) == QUESTIONS and set(new.content.sids.values()).isdisjoint(old.content.sids.values())
    assert old_again.content == old.content and old_again.created == ()
    assert ContentMap.from_json(await store.get(MAP_KEY + flows.hash)) == old.content
    assert ContentMap.from_json(await store.get(MAP_KEY + edited.hash)) == new.content
    assert len(fake.contents()) == 2 * QUESTIONS


# ------------------------------------------------------------------ failures: numbered text


@pytest.mark.anyio
async def test_a_content_api_failure_leaves_the_bot_on_text_and_says_so(
    fake: ContentFake, flows: Flows, caplog: pytest.LogCaptureFixture
) -> None:
    store, client = MemoryStore(time.time), client_for(fake)
    fake.fail(500, "POST", code=20500, after=4)  # the fifth template cannot be made
    try:
        with caplog.at_level(logging.INFO, logger=quiet_log().name):
            content = await content_at_start(flows, store, client, quiet_log())
        assert content == ContentMap(flows.hash)  # nothing to send as buttons: every question as text
        assert content.sid_for("pago") is None
        [line] = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert "No se pudieron preparar los botones en Twilio" in line.getMessage()
        assert "POST /v1/Content answered 500 (error 20500)" in line.getMessage()
        assert "las opciones salen como texto numerado" in line.getMessage()
        assert await store.get(MAP_KEY + flows.hash) is None  # nothing half-made is kept
        assert await store.get(LOCK_KEY + flows.hash) is None
        # The next start makes the rest; the four made before the failure are found, not made twice.
        again = await content_at_start(flows, store, client, quiet_log())
    finally:
        await client.aclose()
    assert again.covers(flows)
    assert len(fake.created()) == QUESTIONS
    assert len({c["friendly_name"] for c in fake.contents()}) == len(fake.contents()) == QUESTIONS


@pytest.mark.anyio
async def test_without_credentials_there_are_no_buttons(flows: Flows, caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings({"APP_ENV": "test"})
    assert content_client(settings) is None
    assert content_client(load_settings({"APP_ENV": "test", "TWILIO_ACCOUNT_SID": ACCOUNT_SID})) is None
    with caplog.at_level(logging.INFO, logger=quiet_log().name):
        content = await content_at_start(flows, MemoryStore(time.time), None, quiet_log())
    assert content == ContentMap(flows.hash)
    assert any("texto numerado" in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_an_instance_stuck_holding_the_lock_leaves_the_others_on_text(fake: ContentFake, flows: Flows) -> None:
    store, client = MemoryStore(time.time), client_for(fake)
    await store.set_if_absent(LOCK_KEY + flows.hash, "someone-else", 60)
    try:
        with pytest.raises(ContentBusy):
            await ContentTemplates(store, client, quiet_log(), wait=0.2).prepare(flows)
    finally:
        await client.aclose()
    assert fake.created() == []  # it made nothing behind the holder's back
    assert await store.get(LOCK_KEY + flows.hash) == "someone-else"


def test_the_settings_point_the_client_at_a_fake_only_in_tests() -> None:
    env = {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_CONTENT_API_BASE": "http://127.0.0.1:9"}
    assert load_settings({"APP_ENV": "test", **env}).twilio_content_api_base == "http://127.0.0.1:9"
    assert load_settings({"APP_ENV": "development", **env}).twilio_content_api_base is None


# ------------------------------------------------------------------ rinconcito content sync


def run_cli(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS", "TWILIO", "RENDER", "APP_ENV"))}
    return subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "content", "sync", "--dir", str(ROOT / "flows")],
        env={**base, "PYTHONPATH": str(ROOT), **env}, cwd=cwd, capture_output=True, text=True, timeout=60,
    )


def test_the_command_makes_them_once_and_keeps_the_map_for_the_server(
    fake: ContentFake, flows: Flows, prefix: str, tmp_path: Path  # noqa: F811
) -> None:
    env = {
        "APP_ENV": "test", "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_CONTENT_API_BASE": fake.url, "REDIS_URL": SHARED_REDIS, "REDIS_KEY_PREFIX": prefix,
    }
    first = run_cli(env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"✅ {QUESTIONS} plantillas para los flujos {flows.hash} ({QUESTIONS} nuevas)" in first.stdout
    assert "   pago: botones · HX" in first.stdout and "   corregir: lista · HX" in first.stdout
    second = run_cli(env, tmp_path)
    assert second.returncode == 0, second.stderr
    assert f"({0} nuevas)" in second.stdout and "ya estaba" in second.stdout
    assert len(fake.created()) == QUESTIONS
    kept = ContentMap.from_json(asyncio.run(_read(prefix, MAP_KEY + flows.hash)))
    assert kept is not None and kept.covers(flows)


async def _read(prefix: str, key: str) -> str | None:  # noqa: F811
    client = RedisLine.from_url(SHARED_REDIS)
    try:
        return await RedisStore(client, prefix).get(key)
    finally:
        await client.aclose()


def test_the_command_says_what_is_missing_or_failing(fake: ContentFake, tmp_path: Path) -> None:
    missing = run_cli({"APP_ENV": "test"}, tmp_path)
    assert missing.returncode == 1
    assert "Faltan TWILIO_ACCOUNT_SID y TWILIO_AUTH_TOKEN" in missing.stderr
    fake.fail(500, "GET")
    failing = run_cli({"APP_ENV": "test", "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                       "TWILIO_CONTENT_API_BASE": fake.url}, tmp_path)
    assert failing.returncode == 1
    assert "No se pudieron preparar los botones en Twilio: Content API: GET /v1/Content answered 500" in failing.stderr
    assert "Traceback" not in failing.stderr


def test_a_tap_is_read_from_the_field_twilio_puts_it_in() -> None:
    button = {"From": "whatsapp:+5215512345678", "Body": "Tarjeta", "ButtonText": "Tarjeta", "ButtonPayload": "pago:tarjeta",
              "MessageType": "button"}
    item = {"From": "whatsapp:+5215512345678", "Body": "Platillos", "ListTitle": "Platillos", "ListId": "corregir:platillos",
            "MessageType": "interactive"}
    typed = {"From": "whatsapp:+5215512345678", "Body": "pago:tarjeta"}  # typed text is never a tap
    assert tap_in(button) == "pago:tarjeta"
    assert tap_in(item) == "corregir:platillos"
    assert tap_in(typed) is None
    assert tap_in({"ButtonPayload": "  ", "ListId": ""}) is None
