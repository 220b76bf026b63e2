"""The web panel's routes and security, with Starlette's test client against ``create_app``.

The app runs its real lifespan (memory sessions, an SQLite order store in the test's folder, the
outbox sending to the log); orders arrive as customers' webhooks (unsigned: no Twilio token on a
laptop), so what the board shows is what a customer typed. The clock stands still on Friday
27 November 2026 at 14:00 in Mexico City (open).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from starlette.datastructures import Secret
from starlette.responses import Response
from starlette.testclient import TestClient

from engine.channels.twilio.errors import SendVerdict
from engine.channels.twilio.sender import SendResult
from engine.http.app import create_app
from engine.http.wiring import Given
from engine.http.settings import load_settings
from engine.orders.store import OrderStoreUnavailable
from engine.panel.routes import panel_routes
from engine.panel.security import COOKIE, CSP, Cookies, panel_config
from engine.runtime.flows import Flows
from engine.testing.clock import ManualClock

FRIDAY_LUNCH = datetime(2026, 11, 27, 14, 0, tzinfo=ZoneInfo("America/Mexico_City"))
PASSWORD = "tacos-de-canasta-2026"
ANA = "whatsapp:+5215512345678"
EVIL = '<script>alert("x")</script>'
PICKUP = ["hola", "3 pastor", "harina", "sin cebolla", "listo", "1", "Ana", "este", "efectivo", "sí"]


def delivery(name: str, address: str) -> list[str]:
    return ["hola", "8 bistec harina sin cebolla", "listo", "2", name, address, "este", "efectivo", "sí"]


class Panel:
    """A test client on the app, signed in or not, with the helpers the tests share."""

    def __init__(self, client: TestClient, clock: ManualClock) -> None:
        self.client, self.clock = client, clock
        self.messages = 0

    def say(self, text: str, sender: str = ANA) -> list[str]:
        self.messages += 1
        fields = {"From": sender, "Body": text, "MessageSid": f"SM{self.messages:032d}", "ProfileName": "Ana"}
        response = self.client.post("/webhook", content=urlencode(fields),
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 200, response.text
        return re.findall(r"<Message[^>]*>(.*?)</Message>", response.text, re.S)

    def order(self, texts: list[str], sender: str = ANA) -> int:
        replies: list[str] = []
        for text in texts:
            replies = self.say(text, sender)
        number = re.search(r"#(\d{4,})", " ".join(replies))
        assert number, replies
        return int(number.group(1))

    def csrf(self, path: str = "/panel") -> str:
        page = self.client.get(path)
        found = re.search(r'name="csrf" content="([^"]+)"', page.text)
        assert found, page.text[:500]
        return found.group(1)

    def sign_in(self, password: str = PASSWORD) -> object:
        token = self.csrf("/panel/entrar")
        return self.client.post("/panel/entrar", data={"password": password, "csrf": token}, follow_redirects=False)


class RecordingSender:
    """A ``Sender`` that keeps what the outbox sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, to: str, body: str) -> SendResult:
        self.sent.append((to, body))
        return SendResult(SendVerdict.SENT, sid=f"SM{len(self.sent):032d}")

    async def send_template(self, to: str, content_sid: str, variables: Mapping[str, str]) -> SendResult:
        return await self.send(to, variables.get("1", ""))

    async def aclose(self) -> None:
        pass


def build(tmp_path: Path, flows: Flows, sender: RecordingSender | None = None, orders: Any = None,
          **env: str) -> Iterator[Panel]:
    settings = load_settings({"APP_ENV": "test", "ORDERS_DB_PATH": str(tmp_path / "orders.sqlite3"), **env})
    clock = ManualClock(FRIDAY_LUNCH)
    app = create_app(settings, flows, Given(clock=clock, log=logging.getLogger("test-panel"), sender=sender, orders=orders))
    with TestClient(app, base_url="http://panel.test") as client:
        yield Panel(client, clock)


@pytest.fixture
def panel(tmp_path: Path, flows: Flows) -> Iterator[Panel]:
    yield from build(tmp_path, flows, PANEL_PASSWORD=PASSWORD)


# ---------------------------------------------------------------- sign-in and the cookie


def test_the_board_asks_for_the_password_first(panel: Panel) -> None:
    response = panel.client.get("/panel", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/panel/entrar"
    assert panel.client.get("/panel/tablero", follow_redirects=False).status_code == 303


def test_the_right_password_signs_in_with_a_strict_httponly_cookie(panel: Panel) -> None:
    response = panel.sign_in()
    assert response.status_code == 303 and response.headers["location"] == "/panel"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(COOKIE + "=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/panel" in cookie
    assert "Secure" not in cookie  # not production: a laptop serves plain http
    board = panel.client.get("/panel")
    assert board.status_code == 200 and "Preparando" in board.text


def test_a_wrong_password_is_refused(panel: Panel) -> None:
    response = panel.sign_in("tacos")
    assert response.status_code == 401 and "Contraseña equivocada" in response.text
    assert panel.client.get("/panel", follow_redirects=False).status_code == 303


def test_a_forged_cookie_is_not_signed_in(panel: Panel) -> None:
    panel.sign_in()
    value = panel.client.cookies[COOKIE]
    body, signature = value.split(".")
    panel.client.cookies.clear()
    panel.client.cookies.set(COOKIE, body + "." + signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB"), path="/panel")
    assert panel.client.get("/panel", follow_redirects=False).status_code == 303


def test_sign_in_attempts_are_limited(panel: Panel) -> None:
    codes = [panel.sign_in("no-es").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    # Even the right password waits now: guessing is what the limit stops.
    assert panel.sign_in().status_code == 429


def test_sign_in_without_the_forms_token_is_refused(panel: Panel) -> None:
    panel.client.get("/panel/entrar")
    response = panel.client.post("/panel/entrar", data={"password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403
    assert panel.client.get("/panel", follow_redirects=False).status_code == 303


def test_signing_out_forgets_the_browser(panel: Panel) -> None:
    panel.sign_in()
    response = panel.client.post("/panel/salir", data={"csrf": panel.csrf()}, follow_redirects=False)
    assert response.status_code == 303
    assert panel.client.get("/panel", follow_redirects=False).status_code == 303


def test_production_cookies_are_secure(tmp_path: Path, flows: Flows) -> None:
    config = panel_config(Secret(PASSWORD), None, production=True)
    response = Response()
    Cookies(config).attach(response, Cookies(config).visit(signed_in=True))
    assert "Secure" in response.headers["set-cookie"]


def test_without_a_password_the_panel_is_off_in_production(tmp_path: Path, flows: Flows) -> None:
    config = panel_config(None, None, production=True)
    assert panel_routes(flows, config, None, None, lambda: FRIDAY_LUNCH, logging.getLogger("t")) == []  # type: ignore[arg-type]


def test_without_a_password_on_a_laptop_the_panel_is_open_and_says_so(tmp_path: Path, flows: Flows, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="test-panel"):
        for panel in build(tmp_path, flows):
            board = panel.client.get("/panel", follow_redirects=False)
            assert board.status_code == 200 and "Listo" in board.text
    assert any("ABIERTO" in record.getMessage() for record in caplog.records)


# ---------------------------------------------------------------- headers, CSRF, escaping


def test_pages_carry_a_content_security_policy_without_inline_script(panel: Panel) -> None:
    page = panel.client.get("/panel/entrar")
    assert page.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
    assert page.headers["x-frame-options"] == "DENY"
    panel.sign_in()
    board = panel.client.get("/panel")
    assert board.headers["content-security-policy"] == CSP
    # No inline script or handler anywhere: only files of the panel itself.
    assert re.findall(r"<script[^>]*>", board.text) == ['<script src="/panel/static/panel.js" defer>']
    assert not re.search(r"\son\w+=", board.text)


def test_a_change_without_the_csrf_token_is_refused(panel: Panel) -> None:
    number = panel.order(PICKUP)
    panel.sign_in()
    refused = panel.client.post(f"/panel/pedidos/{number}/estado", data={"status": "listo"})
    assert refused.status_code == 403
    wrong = panel.client.post(f"/panel/pedidos/{number}/estado", data={"status": "listo", "csrf": "x" * 32})
    assert wrong.status_code == 403
    token = panel.csrf()
    elsewhere = panel.client.post(f"/panel/pedidos/{number}/estado", data={"status": "listo", "csrf": token},
                                  headers={"Origin": "https://evil.example"})
    assert elsewhere.status_code == 403
    assert 'data-status="nuevo"' in panel.client.get("/panel/tablero").text


def test_what_customers_typed_is_escaped_on_the_board_and_the_ticket(panel: Panel) -> None:
    number = panel.order(delivery(EVIL, "Calle <img src=x onerror=alert(1)> 12, Roma"))
    panel.sign_in()
    for path in ("/panel", "/panel/tablero", f"/panel/pedidos/{number}/ticket"):
        text = panel.client.get(path).text
        assert EVIL not in text and "<img src=x" not in text, path
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text, path
        assert "&lt;img src=x onerror=alert(1)&gt;" in text, path


# ---------------------------------------------------------------- the board


def test_the_board_shows_todays_order_with_its_lines_and_moves_it(panel: Panel) -> None:
    number = panel.order(PICKUP)
    panel.sign_in()
    board = panel.client.get("/panel").text
    card = board[board.index(f'id="pedido-{number}"'):]
    card = card[: card.index("</article>")]
    assert 'data-status="nuevo"' in card and "14:00" in card and "Ana" in card
    assert "3×" in card and "harina" in card and "sin cebolla" in card
    assert "$75" in card and "Recoger en el local" in card and "Efectivo" in card
    moved = panel.client.post(f"/panel/pedidos/{number}/estado", data={"status": "listo", "csrf": panel.csrf()},
                              headers={"Accept": "application/json"})
    assert moved.status_code == 200 and moved.json() == {"number": number, "status": "listo"}
    fragment = panel.client.get("/panel/tablero").text
    assert f'id="pedido-{number}" data-number="{number}" data-status="listo"' in fragment


def test_an_unknown_status_or_order_gets_a_clear_answer(panel: Panel) -> None:
    number = panel.order(PICKUP)
    panel.sign_in()
    token = panel.csrf()
    bad = panel.client.post(f"/panel/pedidos/{number}/estado", data={"status": "quemado", "csrf": token},
                            headers={"Accept": "application/json"})
    assert bad.status_code == 400 and "Estado desconocido" in bad.json()["error"]
    missing = panel.client.post("/panel/pedidos/999999/estado", data={"status": "listo", "csrf": token},
                                headers={"Accept": "application/json"})
    assert missing.status_code == 404
    assert panel.client.get("/panel/pedidos/999999/ticket").status_code == 404


def test_a_location_pin_gets_a_map_link(panel: Panel) -> None:
    for text in ["hola", "8 bistec harina sin cebolla", "listo", "2", "Luis"]:
        panel.say(text)
    panel.client.post("/webhook", content=urlencode({
        "From": ANA, "Body": "", "Latitude": "19.4194", "Longitude": "-99.1617", "Address": "Parque México",
        "MessageSid": "SMpin" + "0" * 29,
    }), headers={"Content-Type": "application/x-www-form-urlencoded"})
    number = panel.order(["este", "efectivo", "sí"])
    panel.sign_in()
    card = panel.client.get("/panel/tablero").text
    assert f"pedido-{number}" in card
    assert "https://www.google.com/maps/search/?api=1&amp;query=19.419400%2C-99.161700" in card


class DownOrders:
    """An order store that cannot be reached."""

    async def save(self, order: object) -> object:
        raise OrderStoreUnavailable("down")

    async def get(self, number: int) -> object:
        raise OrderStoreUnavailable("down")

    async def open_orders(self, day: object, tz: object) -> list[object]:
        raise OrderStoreUnavailable("down")

    async def set_status(self, number: int, status: str) -> object:
        raise OrderStoreUnavailable("down")

    async def list(self, limit: int = 50, status: str | None = None) -> list[object]:
        raise OrderStoreUnavailable("down")

    async def close(self) -> None:
        pass

    def queue(self, now: object) -> DownQueue:
        return DownQueue()


class DownQueue:
    """The queue of messages of a store that cannot be reached: every call fails as it would."""

    def __getattr__(self, name: str) -> Any:
        async def unavailable(*args: object, **kwargs: object) -> object:
            raise OrderStoreUnavailable("down")

        return unavailable


def test_an_order_store_that_does_not_answer_gets_a_clear_503(tmp_path: Path, flows: Flows) -> None:
    for panel in build(tmp_path, flows, orders=DownOrders(), PANEL_PASSWORD=PASSWORD):
        panel.sign_in()
        board = panel.client.get("/panel")
        assert board.status_code == 503 and "La base de pedidos no responde" in board.text
        token = re.search(r'name="csrf" content="([^"]+)"', board.text).group(1)  # type: ignore[union-attr]
        moved = panel.client.post("/panel/pedidos/1001/estado", data={"status": "listo", "csrf": token},
                                  headers={"Accept": "application/json"})
        assert moved.status_code == 503 and "Nada se perdió" in moved.json()["error"]


def test_a_number_too_large_for_any_order_is_not_found(panel: Panel) -> None:
    panel.sign_in()
    token = panel.csrf()
    huge = 10**30
    assert panel.client.get(f"/panel/pedidos/{huge}/ticket").status_code == 404
    assert panel.client.post(f"/panel/pedidos/{huge}/estado", data={"status": "listo", "csrf": token}).status_code == 404


def test_the_live_feed_and_the_scripts_parts_are_for_signed_in_browsers_only(panel: Panel) -> None:
    refused = panel.client.get("/panel/eventos", headers={"Accept": "text/event-stream"})
    assert refused.status_code == 401
    part = panel.client.get("/panel/tablero", headers={"X-Panel-Script": "1"}, follow_redirects=False)
    assert part.status_code == 401  # the page's script sends the browser to sign in


def test_a_change_from_an_opaque_origin_is_refused(panel: Panel) -> None:
    number = panel.order(PICKUP)
    panel.sign_in()
    response = panel.client.post(f"/panel/pedidos/{number}/estado", data={"status": "listo", "csrf": panel.csrf()},
                                 headers={"Origin": "null"})
    assert response.status_code == 403
    same = panel.client.post(f"/panel/pedidos/{number}/estado", data={"status": "listo", "csrf": panel.csrf()},
                             headers={"Origin": "http://panel.test", "Accept": "application/json"})
    assert same.status_code == 200


def test_a_board_in_use_stays_signed_in_and_an_idle_one_signs_out(panel: Panel) -> None:
    panel.sign_in()
    panel.clock.advance(hours=8)  # past half the sign-in's life: the next page extends it
    renewed = panel.client.get("/panel/tablero")
    assert renewed.status_code == 200 and COOKIE in renewed.headers.get("set-cookie", "")
    panel.clock.advance(hours=13)
    assert panel.client.get("/panel/tablero", follow_redirects=False).status_code == 200
    panel.clock.advance(hours=15)  # nobody used it for longer than a sign-in lasts
    assert panel.client.get("/panel/tablero", follow_redirects=False).status_code == 303


def test_the_panel_settings_are_read_and_a_missing_password_refuses_nothing() -> None:
    settings = load_settings({"PANEL_PASSWORD": " " + PASSWORD + " ", "PANEL_SECRET": "s" * 40})
    assert str(settings.panel_password) == PASSWORD  # pasted with spaces around: they are not part of it
    assert str(settings.panel_secret) == "s" * 40
    assert load_settings({}).panel_password is None
    same = panel_config(settings.panel_password, None, production=True)
    assert same.key == panel_config(settings.panel_password, None, production=True).key  # instances sign alike
    assert same.key != panel_config(settings.panel_password, settings.panel_secret, production=True).key
