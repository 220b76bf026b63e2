"""The panel in a real browser: Debian's headless Chromium driven by Playwright, against real
server processes (``python -m engine.http.serve``) on the shared Redis, orders in an SQLite file,
every WhatsApp message through the real twilio client to the loopback Twilio fake.

Customers write through signed webhooks, as Twilio would. The clock is Friday 27 November 2026,
14:00 in Mexico City (open). Each page is saved as a screenshot into ``screenshots/`` (git
ignores it) to be looked at; the board's also goes to ``docs/panel.png`` for the README when ``UPDATE_PANEL_PNG=1``.
Chromium comes from ``.ci/browser`` (apt); this file never downloads a browser.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    expect,
    sync_playwright,
)
from servicekit import (  # noqa: F401  (prefix is a fixture)
    PUBLIC_URL,
    ROOT,
    SHARED_REDIS,
    TOKEN,
    Server,
    form,
    post,
    prefix,
    replies,
    set_clock,
    wait_for,
)
from twilio_fake import TwilioFake

from engine.loading.pipeline import load_flows
from engine.runtime.flows import Flows

CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "screenshots"
FRIDAY_LUNCH = datetime(2026, 11, 27, 14, 0, tzinfo=ZoneInfo("America/Mexico_City"))
PASSWORD = "comal-y-salsa-verde"
ANA = "whatsapp:+5215512345678"
LUIS = "whatsapp:+5215511112222"
ADMIN = "whatsapp:+5215587654321"
EVIL = "<script>alert(1)</script>Ana"
CARMEN = "whatsapp:+5215599990000"
ORDER = ["hola", "3 pastor", "harina", "sin cebolla", "listo", "1", EVIL, "este", "efectivo", "sí"]
TO_DELIVER = ["hola", "2 gringa", "4 bistec harina con todo", "listo", "2"]
"""To deliver ("2"): then the name, the address, and ``CONFIRMED``."""
CONFIRMED = ["este", "tarjeta", "sí"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
TABLET = {"viewport": {"width": 1280, "height": 800}}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def twilio() -> Iterator[TwilioFake]:
    fake = TwilioFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def start(tmp_path: Path, prefix: str, twilio: TwilioFake) -> Iterator[Callable[[str], Server]]:  # noqa: F811
    """Start an instance (``name``); all share Redis, the orders file, the clock and Twilio."""
    clock = tmp_path / "clock-offset"
    set_clock(clock, FRIDAY_LUNCH)
    started: list[Server] = []

    def launch(name: str = "server") -> Server:
        env = {
            "REDIS_URL": SHARED_REDIS, "REDIS_KEY_PREFIX": prefix, "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_WHATSAPP_CLIENTES": "whatsapp:+14155238886",
            "TWILIO_API_BASE": twilio.url, "ADMIN_PHONE_NUMBER": ADMIN, "PUBLIC_URL": PUBLIC_URL,
            "TEST_CLOCK_FILE": str(clock), "PANEL_PASSWORD": PASSWORD, "ORDERS_DB_PATH": str(tmp_path / "orders.sqlite3"),
        }
        server = Server(tmp_path, env, name=name).start()
        started.append(server)
        return server

    yield launch
    for server in started:
        server.kill()


@pytest.fixture
def server(start: Callable[[str], Server]) -> Server:
    return start("server")


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as http:
        yield http


class Visitor:
    """A browser tab on the panel, watching for any dialog a script might open."""

    def __init__(self, context: BrowserContext, base: str, size: str) -> None:
        self.context, self.base, self.size = context, base, size
        self.page: Page = context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.confirm = False
        """How the next dialog is answered: accepted (True) or dismissed."""
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.set_default_timeout(15000)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        if self.confirm:
            dialog.accept()
        else:
            dialog.dismiss()

    def sign_in(self) -> None:
        self.page.goto(self.base + "/panel")
        expect(self.page).to_have_url(self.base + "/panel/entrar")
        self.shot("entrar")
        self.page.fill("#password", PASSWORD)
        self.page.click("#signin")
        expect(self.page).to_have_url(self.base + "/panel")
        expect(self.page.locator("#live")).to_have_attribute("data-state", "on")

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(exist_ok=True)
        path = SHOTS / f"{name}-{self.size}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def card(self, number: int) -> Locator:
        return self.page.locator(f"#pedido-{number}")


def visiting(browser: Browser, server: Server, size: str) -> Iterator[Visitor]:
    context = browser.new_context(**(TABLET if size == "tableta" else PHONE), locale="es-MX")
    visitor = Visitor(context, server.base, size)
    yield visitor
    assert visitor.errors == [], visitor.errors
    context.close()


@pytest.fixture
def tablet(browser: Browser, server: Server) -> Iterator[Visitor]:
    yield from visiting(browser, server, "tableta")


@pytest.fixture(params=["tableta", "telefono"])
def visitor(request: pytest.FixtureRequest, browser: Browser, server: Server) -> Iterator[Visitor]:
    """The kitchen's tablet, then a phone."""
    yield from visiting(browser, server, request.param)


def order(client: httpx.Client, base: str, texts: list[str] = ORDER, sender: str = ANA) -> int:
    answer: list[str] = []
    for text in texts:
        answer = replies(post(client, base, form(text, sender=sender)))
    found = re.search(r"#(\d{4,})", " ".join(answer))
    assert found, answer
    return int(found.group(1))


def sent_to(twilio: TwilioFake, customer: str, words: str) -> bool:
    return any(r.form.get("To") == customer and words in r.form.get("Body", "") for r in twilio.sent())


# ---------------------------------------------------------------- the board


def test_an_order_shows_up_live_and_listo_tells_the_customer(visitor: Visitor, server: Server,
                                                            client: httpx.Client, twilio: TwilioFake) -> None:
    visitor.sign_in()
    page = visitor.page
    page.evaluate("window.stillTheSamePage = true")
    number = order(client, server.base)
    card = page.locator(f"#pedido-{number}")
    expect(card).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True  # appeared without a reload
    expect(card).to_have_attribute("data-status", "nuevo")
    expect(card).to_contain_text(EVIL)  # shown as text...
    assert visitor.dialogs == []  # ...never run
    expect(card).to_contain_text("3×")
    expect(card).to_contain_text("sin cebolla")
    expect(card).to_contain_text("$75")
    expect(page.locator("#toast")).to_contain_text(f"Pedido nuevo #{number}")
    expect(page.locator("#sound")).to_have_attribute("aria-pressed", "true")  # this browser may play sounds
    wait_for(lambda: page.evaluate("document.getElementById('chime').played.length") > 0, what="the chime")

    card.get_by_role("button", name="→ Preparando").click()
    expect(page.locator(f'.column[data-status="preparando"] #pedido-{number}')).to_be_visible()
    page.locator(f"#pedido-{number}").get_by_role("button", name="→ Listo").click()
    expect(page.locator(f'.column[data-status="listo"] #pedido-{number}')).to_be_visible()
    wait_for(lambda: sent_to(twilio, ANA, f"*#{number}* está listo"), what="the customer's 'listo' message")

    # Two orders to deliver, one to an address and one to a location pin (with its map link).
    to_address = order(client, server.base, [*TO_DELIVER, "Luis", "Av. Álvaro Obregón 120, Roma Norte", *CONFIRMED], LUIS)
    for text in [*TO_DELIVER, "Carmen"]:
        replies(post(client, server.base, form(text, sender=CARMEN)))
    replies(post(client, server.base, form("", sender=CARMEN, Latitude="19.4194", Longitude="-99.1617",
                                            Address="Parque México")))
    to_pin = order(client, server.base, CONFIRMED, CARMEN)
    expect(page.locator(f"#pedido-{to_address}")).to_contain_text("Av. Álvaro Obregón 120, Roma Norte")
    pin = page.locator(f"#pedido-{to_pin}")
    expect(pin).to_contain_text("Parque México")
    expect(pin.get_by_role("link", name="📍 mapa")).to_have_attribute(
        "href", "https://www.google.com/maps/search/?api=1&query=19.419400%2C-99.161700")
    pin.get_by_role("button", name="→ Preparando").click()
    expect(page.locator(f'.column[data-status="preparando"] #pedido-{to_pin}')).to_be_visible()
    visitor.shot("tablero")
    if visitor.size == "tableta" and os.environ.get("UPDATE_PANEL_PNG"):  # a test run leaves the checkout as it was
        shutil.copyfile(SHOTS / "tablero-tableta.png", ROOT / "docs" / "panel.png")

    with page.expect_popup() as opened:
        page.locator(f"#pedido-{number}").get_by_role("link", name="🖨️ Ticket").click()
    ticket = opened.value
    expect(ticket.locator(".big")).to_have_text(f"Pedido #{number}")
    expect(ticket.locator("body")).to_contain_text(EVIL)
    ticket.screenshot(path=str(SHOTS / f"ticket-{visitor.size}.png"), full_page=True)


def test_a_card_dragged_to_another_column_changes_status(tablet: Visitor, server: Server,
                                                        client: httpx.Client, twilio: TwilioFake) -> None:
    number = order(client, server.base)
    tablet.sign_in()
    page = tablet.page
    page.drag_and_drop(f"#pedido-{number}", '.column[data-status="listo"]')
    expect(page.locator(f'.column[data-status="listo"] #pedido-{number}')).to_be_visible()
    wait_for(lambda: sent_to(twilio, ANA, f"*#{number}* está listo"), what="the customer's 'listo' message")


def test_cancelling_asks_first_and_then_tells_the_customer(tablet: Visitor, server: Server,
                                                          client: httpx.Client, twilio: TwilioFake) -> None:
    number = order(client, server.base)
    tablet.sign_in()
    page = tablet.page
    cancel = page.locator(f"#pedido-{number}").get_by_role("button", name="Cancelar")
    cancel.click()  # "no" to the question: nothing happens
    assert tablet.dialogs == [f"¿Cancelar el pedido #{number}? Se le avisa al cliente."]
    expect(page.locator(f'.column[data-status="nuevo"] #pedido-{number}')).to_be_visible()
    tablet.confirm = True
    cancel.click()
    expect(page.locator(f".cancelled #pedido-{number}")).to_be_attached()
    expect(page.locator(".cancelled summary")).to_have_text("Cancelados (1)")
    wait_for(lambda: sent_to(twilio, ANA, "fue cancelado"), what="the customer's 'cancelado' message")
    assert sum("fue cancelado" in r.form.get("Body", "") for r in twilio.sent()) == 1  # told once


def test_the_board_reconnects_and_catches_up_after_losing_the_server(tablet: Visitor, server: Server,
                                                                    client: httpx.Client) -> None:
    tablet.sign_in()
    page = tablet.page
    server.kill()
    expect(page.locator("#live")).to_have_attribute("data-state", "off")
    server.start()
    number = order(client, server.base)
    expect(page.locator(f"#pedido-{number}")).to_be_visible(timeout=30000)
    expect(page.locator("#live")).to_have_attribute("data-state", "on")


def test_signing_out_in_another_tab_sends_the_board_to_sign_in(tablet: Visitor, server: Server,
                                                              client: httpx.Client) -> None:
    tablet.sign_in()
    other = tablet.context.new_page()
    other.goto(server.base + "/panel/menu")
    other.get_by_role("button", name="Salir").click()
    expect(other).to_have_url(server.base + "/panel/entrar")
    order(client, server.base)  # news for the board, which finds out it is signed out
    expect(tablet.page).to_have_url(server.base + "/panel/entrar")


def test_two_instances_on_one_redis_an_order_through_a_shows_on_b(browser: Browser, start: Callable[[str], Server],
                                                                 client: httpx.Client) -> None:
    a, b = start("a"), start("b")
    context = browser.new_context(**TABLET)
    on_b = Visitor(context, b.base, "tableta")
    on_b.sign_in()
    number = order(client, a.base)
    expect(on_b.card(number)).to_be_visible()
    context.close()


# ---------------------------------------------------------------- menu and hours


def test_sold_out_from_the_panel_makes_the_bot_say_agotado(visitor: Visitor, server: Server, client: httpx.Client) -> None:
    visitor.sign_in()
    page = visitor.page
    page.get_by_role("link", name="Menú y horario", exact=True).click()
    item = page.locator("#item-pastor")
    item.get_by_role("button", name="🚫 Marcar agotado").click()
    expect(page.locator("#item-pastor")).to_have_class(re.compile("sold-out"))
    expect(page.locator(".notice")).to_contain_text("agotado")
    visitor.shot("menu")
    replies(post(client, server.base, form("hola", sender=LUIS)))
    answer = " ".join(replies(post(client, server.base, form("2 pastor", sender=LUIS))))
    assert "agotado" in answer.lower(), answer

    page.click("#close-now")
    expect(page.locator("#open-state")).to_contain_text("Cerrado")
    closed = " ".join(replies(post(client, server.base, form("hola", sender="whatsapp:+5215533334444"))))
    assert "cerrado" in closed.lower(), closed


# ---------------------------------------------------------------- conversations


def test_a_taken_over_customer_is_answered_from_the_panel(visitor: Visitor, server: Server, client: httpx.Client,
                                                         twilio: TwilioFake) -> None:
    visitor.sign_in()
    page = visitor.page
    page.get_by_role("link", name="Conversaciones", exact=True).click()
    expect(page.locator("#conversations")).to_contain_text("Nadie está esperando")
    replies(post(client, server.base, form("hola", sender=LUIS)))
    replies(post(client, server.base, form("hablar con una persona", sender=LUIS)))
    talk = page.locator("#conversacion-525511112222")
    expect(talk).to_be_visible()
    expect(talk).to_contain_text("hablar con una persona")
    assert replies(post(client, server.base, form("¿tienen <b>tamales</b>?", sender=LUIS))) == []  # the bot is quiet
    expect(talk.locator(".messages")).to_contain_text("¿tienen <b>tamales</b>?")
    talk.locator("textarea").fill("Hoy no, pero mañana sí 🫔")
    talk.get_by_role("button", name="Enviar").click()
    wait_for(lambda: sent_to(twilio, LUIS, "Hoy no, pero mañana sí"), what="the team's answer on WhatsApp")
    expect(talk.locator(".messages li.equipo")).to_contain_text("Hoy no, pero mañana sí")
    visitor.shot("conversaciones")
    talk.get_by_role("button", name="🤖 Devolver al bot").click()
    expect(page.locator("#conversations")).to_contain_text("Nadie está esperando")
    assert replies(post(client, server.base, form("menú", sender=LUIS)))  # the bot answers again


# ---------------------------------------------------------------- today, the flow, the preview


def test_today_in_numbers_counts_the_orders(visitor: Visitor, server: Server, client: httpx.Client) -> None:
    order(client, server.base)
    replies(post(client, server.base, form("hola", sender=LUIS)))
    replies(post(client, server.base, form("2 bistec harina sin cebolla", sender=LUIS)))
    visitor.sign_in()
    page = visitor.page
    page.get_by_role("link", name="Hoy", exact=True).click()
    expect(page.locator("#n-orders")).to_have_text("1")
    expect(page.locator("#n-sales")).to_have_text("$75")
    expect(page.locator(".hours-chart rect.bar")).to_have_count(6)  # 14h and the five after it
    expect(page.locator(".hours-chart rect.bar").first.locator("title")).to_have_text("14:00 · 1 pedido")
    expect(page.locator("#stopped")).to_contain_text("pedir")
    visitor.shot("hoy")


def server_flows() -> Flows:
    """The flows the server loaded (the repository's): every global command is drawn."""
    return load_flows(ROOT / "flows")


def test_the_flow_is_drawn_and_the_preview_talks_without_storing(visitor: Visitor, server: Server,
                                                                 client: httpx.Client, twilio: TwilioFake) -> None:
    visitor.sign_in()
    page = visitor.page
    page.get_by_role("link", name="Flujo", exact=True).click()
    expect(page.locator('#flow svg g.node[data-id="pedir"]')).to_be_visible()
    expect(page.locator("#flow svg g.node-command")).to_have_count(len(server_flows().order.commands))
    visitor.shot("flujo")

    page.get_by_role("link", name="Probar", exact=True).click()
    for text in ["hola", "3 pastor", "harina", "sin cebolla", "listo", "1", "Prueba", "este", "efectivo", "sí"]:
        page.fill("#preview-text", text)
        page.click("#preview-send")
        expect(page.locator("#chat .bubble.customer").last).to_have_text(text)
    expect(page.locator("#chat")).to_contain_text("#0000")
    expect(page.locator("#effects")).to_contain_text("Se guardaría el pedido")
    visitor.shot("probar")
    page.goto(server.base + "/panel")
    expect(page.locator(".card")).to_have_count(0)  # nothing was stored
    assert twilio.requests == []  # nor sent


def test_the_preview_shows_buttons_and_a_click_answers_the_question(visitor: Visitor, server: Server,
                                                                  twilio: TwilioFake) -> None:
    visitor.sign_in()
    page = visitor.page
    page.get_by_role("link", name="Probar", exact=True).click()
    for text in ["hola", "3 pastor"]:
        page.fill("#preview-text", text)
        page.press("#preview-text", "Enter")  # Enter sends the text, never a button
        expect(page.locator("#chat .bubble.customer").last).to_have_text(text)
    buttons = page.locator("#chat .taps .tap")
    expect(buttons).to_have_text(["Maíz", "Harina (+$3)"])
    page.get_by_role("button", name="Harina (+$3)").click()
    expect(page.locator("#chat .bubble.customer").last).to_have_text("Harina (+$3)")
    expect(page.locator("#chat .bubble.bot").last).to_contain_text("¿Cómo los preparamos?")
    expect(buttons).to_have_text(["Con todo", "Sin cebolla", "Sin cilantro"])  # the next question's
    visitor.shot("probar-botones")
    page.get_by_role("button", name="Sin cebolla").click()
    expect(page.locator("#chat")).to_contain_text("Agregué 3 × Taco al pastor (harina, sin cebolla)")
    for text in ["listo", "1", "Prueba", "este", "efectivo", "no"]:  # typed answers keep working
        page.fill("#preview-text", text)
        page.click("#preview-send")
        expect(page.locator("#chat .bubble.customer").last).to_have_text(text)
    page.locator("#chat details.taps summary").click()  # a list: its button opens it
    page.get_by_role("button", name="Nada, así está bien").click()
    expect(page.locator("#chat .bubble.bot").last).to_contain_text("¿Lo confirmamos?")
    page.get_by_role("button", name="Sí", exact=True).click()
    expect(page.locator("#chat")).to_contain_text("#0000")
    expect(page.locator("#effects")).to_contain_text("Se guardaría el pedido")
    assert twilio.requests == []  # nothing sent


# ---------------------------------------------------------------- on a phone


def test_on_a_phone_every_page_fits_and_a_card_moves_by_touch(browser: Browser, server: Server, client: httpx.Client,
                                                    twilio: TwilioFake) -> None:
    context = browser.new_context(**PHONE, locale="es-MX")
    phone = Visitor(context, server.base, "telefono")
    phone.sign_in()
    page = phone.page
    number = order(client, server.base)
    card = page.locator(f"#pedido-{number}")
    expect(card).to_be_visible()
    card.get_by_role("button", name="→ Preparando").tap()
    expect(page.locator(f'.column[data-status="preparando"] #pedido-{number}')).to_be_visible()
    wait_for(lambda: sent_to(twilio, ANA, "preparando"), what="the customer's 'preparando' message")
    for path in ["/panel", "/panel/menu", "/panel/conversaciones", "/panel/hoy", "/panel/flujo", "/panel/probar"]:
        page.goto(server.base + path)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, (path, wide)  # nothing sticks out sideways (the flow scrolls inside its box)
    assert phone.errors == [], phone.errors
    context.close()
