"""The panel's other pages with Starlette's test client (menu and hours, conversations, today, the
flow, the preview), ``#responder`` from the admin's WhatsApp, and the pieces under them: the
conversation log, the step tally, the flow graph and the live feed.

As in ``test_panel``: the real ``create_app`` and lifespan, memory sessions, SQLite orders, a
recording sender behind the real outbox; the clock stands on Friday 27 November 2026, 14:00.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from servicekit import wait_for
from test_panel import (
    EVIL,
    FRIDAY_LUNCH,
    PASSWORD,
    PICKUP,
    Panel,
    RecordingSender,
    build,
)

from engine.panel.conversations import HELD_SLOTS, HeldConversations
from engine.panel.funnel import ENDED, StepTally
from engine.panel.graph import flow_graph, render_graph, render_svg
from engine.panel.live import versions
from engine.runtime.flows import Flows
from engine.storage.store import MemoryStore

ADMIN = "whatsapp:+5215587654321"
LUIS = "whatsapp:+5215511112222"
LUIS_E164 = "+525511112222"


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def panel(tmp_path: Path, flows: Flows, sender: RecordingSender) -> Iterator[Panel]:
    for signed_in in build(tmp_path, flows, sender, PANEL_PASSWORD=PASSWORD, ADMIN_PHONE_NUMBER=ADMIN):
        assert signed_in.sign_in().status_code == 303
        yield signed_in


def post(panel: Panel, path: str, **fields: str) -> object:
    return panel.client.post(path, data={"csrf": panel.csrf(), **fields}, headers={"Accept": "application/json"})


def sent_to(sender: RecordingSender, customer: str) -> list[str]:
    return [body for to, body in sender.sent if to == customer]


# ---------------------------------------------------------------- menu and hours


def test_sold_out_from_the_panel_is_what_the_next_customer_hears(panel: Panel) -> None:
    marked = post(panel, "/panel/menu/pastor", available="0")
    assert marked.status_code == 200 and "agotado" in marked.json()["notice"]  # type: ignore[attr-defined]
    page = panel.client.get("/panel/menu").text
    assert 'class="sold-out" id="item-pastor"' in page
    panel.say("hola", LUIS)
    assert "agotado" in " ".join(panel.say("2 pastor", LUIS)).lower()
    post(panel, "/panel/menu/pastor", available="1")
    assert 'class="available" id="item-pastor"' in panel.client.get("/panel/menu").text
    assert "agotado" not in " ".join(panel.say("2 pastor", LUIS)).lower()


def test_an_unknown_item_is_a_clear_404(panel: Panel) -> None:
    response = post(panel, "/panel/menu/tamal", available="0")
    assert response.status_code == 404 and "tamal" in response.json()["error"]  # type: ignore[attr-defined]


def test_close_now_and_open_now(panel: Panel) -> None:
    closed = post(panel, "/panel/horario", open="0")
    assert "Cerrado" in closed.json()["notice"]  # type: ignore[attr-defined]
    assert "Cerrado: no se toman pedidos" in panel.client.get("/panel/menu").text
    assert "cerrado" in " ".join(panel.say("hola", LUIS)).lower()
    post(panel, "/panel/horario", open="1")
    assert "Abierto: se toman pedidos" in panel.client.get("/panel/menu").text
    assert post(panel, "/panel/horario", open="maybe").status_code == 400  # type: ignore[attr-defined]


def test_without_javascript_a_change_comes_back_to_the_page_with_a_notice(panel: Panel) -> None:
    response = panel.client.post("/panel/menu/flan", data={"csrf": panel.csrf(), "available": "1"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/panel/menu?aviso=")
    assert "Flan napolitano disponible otra vez" in panel.client.get(response.headers["location"]).text


# ---------------------------------------------------------------- conversations


def test_a_customer_who_asks_for_a_person_is_listed_and_answered_through_the_bot(panel: Panel, sender: RecordingSender) -> None:
    assert "Nadie está esperando" in panel.client.get("/panel/conversaciones").text
    panel.say("hola", LUIS)
    panel.say("hablar con una persona", LUIS)
    assert panel.say(EVIL, LUIS) == []  # the bot stays quiet...
    listed = panel.client.get("/panel/conversaciones/lista").text
    assert 'id="conversacion-525511112222"' in listed and "hablar con una persona" in listed
    assert EVIL not in listed and "&lt;script&gt;" in listed  # ...and what they wrote is kept, escaped
    answered = post(panel, "/panel/conversaciones/responder", customer=LUIS_E164, text="Claro, ¿en qué te ayudo?")
    assert answered.status_code == 200  # type: ignore[attr-defined]
    wait_for(lambda: "Claro, ¿en qué te ayudo?" in sent_to(sender, LUIS_E164), what="the answer")
    assert '<li class="equipo">' in panel.client.get("/panel/conversaciones/lista").text
    post(panel, "/panel/conversaciones/soltar", customer=LUIS_E164)
    assert "Nadie está esperando" in panel.client.get("/panel/conversaciones/lista").text
    assert panel.say("menú", LUIS)  # the bot answers again


def test_an_answer_to_a_customer_nobody_holds_is_refused(panel: Panel, sender: RecordingSender) -> None:
    refused = post(panel, "/panel/conversaciones/responder", customer=LUIS_E164, text="hola")
    assert refused.status_code == 409 and "tómalo primero" in refused.json()["error"]  # type: ignore[attr-defined]
    bad = post(panel, "/panel/conversaciones/tomar", customer="12")
    assert bad.status_code == 400  # type: ignore[attr-defined]
    taken = post(panel, "/panel/conversaciones/tomar", customer="55 1111 2222")
    assert "Atiendes tú" in taken.json()["notice"]  # type: ignore[attr-defined]
    assert panel.say("hola", LUIS) == []  # taken: the bot is quiet
    assert post(panel, "/panel/conversaciones/responder", customer=LUIS_E164, text="  ").status_code == 400  # type: ignore[attr-defined]


def test_responder_from_the_admins_whatsapp_reaches_the_held_customer(panel: Panel, sender: RecordingSender) -> None:
    assert "Atiendes tú a +525511112222" in panel.say("#tomar +52 55 1111 2222", ADMIN)[0]
    (done,) = panel.say("#responder 2222 Ya va tu pedido 🛵", ADMIN)
    assert done == "✉️ Enviado a +525511112222."
    wait_for(lambda: "Ya va tu pedido 🛵" in sent_to(sender, LUIS_E164), what="the admin's answer")
    assert "Ya va tu pedido 🛵" in panel.client.get("/panel/conversaciones/lista").text
    (unknown,) = panel.say("#responder 9999 hola", ADMIN)
    assert "No encontré a «9999»" in unknown
    (short,) = panel.say("#responder 22 hola", ADMIN)
    assert "No encontré" in short  # two digits could be anybody
    panel.say("#soltar +52 55 1111 2222", ADMIN)
    (released,) = panel.say("#responder 2222 ¿sigues ahí?", ADMIN)
    assert "No encontré" in released
    assert sent_to(sender, LUIS_E164) == ["Ya va tu pedido 🛵"]
    assert "#responder" in panel.say("#ayuda", ADMIN)[0]


# ---------------------------------------------------------------- today


def test_today_counts_orders_sales_and_where_conversations_stopped(panel: Panel) -> None:
    first = panel.order(PICKUP)
    panel.order(PICKUP, "whatsapp:+5215533334444")
    post(panel, f"/panel/pedidos/{first}/estado", status="cancelado")
    panel.say("hola", LUIS)
    panel.say("2 bistec harina sin cebolla", LUIS)
    page = panel.client.get("/panel/hoy").text
    assert '<b id="n-orders">1</b>' in page and '<b id="n-sales">$75</b>' in page
    assert "De 3 clientes que escribieron hoy, 2 pidieron." in page
    assert re.search(r"<td>pedir</td><td class=\"n\">1</td><td class=\"n\">0</td>", page)
    assert "14:00 · 1 pedido<" in page


# ---------------------------------------------------------------- the flow and the preview


def test_the_flow_page_draws_every_step(panel: Panel, flows: Flows) -> None:
    page = panel.client.get("/panel/flujo").text
    for step in flows.order.steps:
        assert f'data-id="{step}"' in page
    assert "flowchart TD" in page and "digraph flow" in page


def test_the_preview_answers_as_the_bot_and_stores_nothing(panel: Panel, sender: RecordingSender) -> None:
    state = ""
    page = ""
    for text in PICKUP:
        response = panel.client.post("/panel/probar", data={"csrf": panel.csrf("/panel/probar"), "estado": state,
                                                           "fecha": "2026-11-27", "hora": "14:00", "texto": text})
        assert response.status_code == 200
        page = response.text
        found = re.search(r'name="estado" value="([^"]*)"', page)
        assert found
        state = found.group(1).replace("&#34;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&#39;", "'")
    assert "Tu pedido es el *#0000*" in page
    assert "Se guardaría el pedido: 3 platillos, total $75" in page
    assert "Aviso al encargado" in page
    assert 'class="card' not in panel.client.get("/panel/tablero").text  # nothing stored
    assert sender.sent == []  # nothing sent


def test_the_preview_at_night_says_closed_and_escapes_what_was_typed(panel: Panel) -> None:
    page = panel.client.post("/panel/probar", data={"csrf": panel.csrf("/panel/probar"), "estado": "{broken",
                                                   "fecha": "2026-11-27", "hora": "03:00", "texto": EVIL}).text
    assert EVIL not in page and "&lt;script&gt;" in page
    assert "cerrado" in page.lower()


def preview(panel: Panel, state: str, **fields: str) -> tuple[int, str, str]:
    """Post to the preview as its page does; the answer's status, page and state."""
    response = panel.client.post("/panel/probar", data={"csrf": panel.csrf("/panel/probar"), "estado": state,
                                                       "fecha": "2026-11-27", "hora": "14:00", **fields})
    found = re.search(r'name="estado" value="([^"]*)"', response.text)
    return response.status_code, response.text, html.unescape(found.group(1)) if found else ""


def tap_button(tap: str, title: str) -> str:
    return f'<button type="submit" form="preview-taps" name="tap" value="{tap}" class="tap">{title}</button>'


def test_the_preview_shows_the_buttons_and_a_click_is_a_tap(panel: Panel) -> None:
    state = ""
    for text in ("hola", "3 pastor"):
        code, page, state = preview(panel, state, texto=text)
        assert code == 200
    assert "1. Maíz" in page  # the numbered question as ever, its buttons under it
    assert tap_button("pedir:tortilla:maiz", "Maíz") in page
    assert tap_button("pedir:tortilla:harina", "Harina (+$3)") in page
    assert '<form method="post" action="/panel/probar" id="preview-taps" hidden>' in page
    code, page, state = preview(panel, state, tap="pedir:tortilla:harina")  # no text: the tap alone
    assert code == 200
    assert '<div class="bubble customer">Harina (+$3)</div>' in page  # the title, as WhatsApp shows it
    assert "¿Cómo los preparamos?" in page and tap_button("pedir:preparacion:sin_cebolla", "Sin cebolla") in page
    assert "pedir:tortilla:maiz" not in page  # only the latest question keeps its buttons
    code, page, state = preview(panel, state, tap="pedir:tortilla:maiz")  # an earlier message's button
    assert "Ese botón era de un mensaje anterior" in page and "¿Cómo los preparamos?" in page
    code, page, state = preview(panel, state, texto="sin cebolla")  # typing still works
    assert "Agregué 3 × Taco al pastor (harina, sin cebolla)" in page
    for text in ("listo", "1", "Prueba", "este", "efectivo", "no"):
        code, page, state = preview(panel, state, texto=text)
    assert '<details class="taps list"><summary>☰ Ver opciones</summary>' in page  # four options: a list
    assert tap_button("corregir:nada", "Nada, así está bien") in page
    code, page, state = preview(panel, state, tap="corregir:nada")
    code, page, state = preview(panel, state, tap="confirmar:yes")
    assert "Tu pedido es el *#0000*" in page and "Se guardaría el pedido" in page


def test_a_tap_in_the_preview_keeps_the_panels_rules(panel: Panel) -> None:
    refused = panel.client.post("/panel/probar", data={"estado": "", "fecha": "2026-11-27", "hora": "14:00",
                                                      "tap": "entrega:pickup"})
    assert refused.status_code == 403  # no CSRF token: nothing answered
    code, page, _ = preview(panel, "", tap=EVIL)  # not a tap id: read as typed, shown as text
    assert code == 200 and EVIL not in page and "&lt;script&gt;" in page
    forged = json.dumps({"session": None, "bubbles": [["bot", "¿Sí?", {"list": EVIL, "options": [[EVIL, EVIL, EVIL]]}]]})
    code, page, _ = preview(panel, forged)  # a state made by hand, drawn as it came: escaped
    assert code == 200 and EVIL not in page and page.count('class="tap">&lt;script&gt;') == 1
    code, page, _ = preview(panel, forged, texto="hola")  # the next turn: its buttons are gone
    assert code == 200 and EVIL not in page and 'class="tap"' not in page
    code, page, _ = preview(panel, json.dumps({"session": None, "bubbles": [["bot", "x", {"options": 7}]]}), texto="hola")
    assert code == 200 and "Bienvenido" in page  # unreadable: a fresh conversation


# ---------------------------------------------------------------- the pieces


class Clock:
    def __init__(self) -> None:
        self.now = FRIDAY_LUNCH.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.mark.anyio
async def test_the_log_keeps_the_latest_hand_over_per_customer_and_a_bounded_history() -> None:
    clock = Clock()
    store = MemoryStore(clock)
    sent: list[tuple[str, str, str, str]] = []

    async def send(event: str, to: str, text: str, kind: str) -> bool:
        sent.append((event, to, text, kind))
        return True

    log = HeldConversations(store, send, clock)
    await log.held_by_person("+521", clock.now + 600, ("hola", "quiero hablar con alguien"))
    await log.held_by_person("+522", clock.now + 600)
    await log.released("+522")
    assert await log.held() == ["+521"]
    for index in range(60):
        await log.said("+521", "cliente", f"mensaje {index}")
    (talk,) = await log.current()
    assert [m.text for m in talk.messages] == [f"mensaje {i}" for i in range(40, 60)]
    await log.reply("+521", "voy")
    assert sent[0][1:] == ("+521", "voy", "reply")
    await log.reply("+521", "voy")  # the same words again are a new message
    assert len({event for event, *_ in sent}) == 2
    for index in range(HELD_SLOTS):  # a customer falls out only after the ring came around
        await log.held_by_person(f"+53{index}", clock.now + 600)
    assert "+521" not in await log.held()
    clock.now += 601
    assert await log.held() == []


@pytest.mark.anyio
async def test_the_tally_counts_each_customer_once_at_their_latest_step() -> None:
    clock = Clock()
    store = MemoryStore(clock)
    tally = StepTally(store, "America/Mexico_City", 30, clock, logging.getLogger("t"))
    tally.note("+521", "pedir", False)
    tally.note("+521", "entrega", False)
    tally.note("+522", "hecho", True)
    tally.note("+522", None, False)  # ordered, then the flow ended: still ordered
    tally.note("+523", None, False)
    await tally.flush()
    tally.note("+524", "pago", False)
    await tally.flush()
    clock.now += 31 * 60
    tally.note("+525", "pago", False)
    await tally.flush()
    day = tally.day(clock.now)
    funnel = await tally.funnel(day)
    assert (funnel.conversations, funnel.ordered) == (5, 1)
    by_step = {s.step: (s.going, s.abandoned) for s in funnel.stopped}
    assert by_step == {"entrega": (0, 1), "pago": (1, 1), ENDED: (0, 1)}


def test_render_graph_writes_mermaid_and_dot_with_conditions_and_commands(flows: Flows) -> None:
    mermaid = render_graph(flows, "mermaid")
    dot = render_graph(flows, "dot")
    graph = flow_graph(flows.order)
    assert len([n for n in graph.nodes if n.kind == "step"]) == len(flows.order.steps)
    assert len([n for n in graph.nodes if n.kind == "command"]) == len(flows.order.commands)
    assert mermaid.startswith("flowchart TD\n") and "si not open" in mermaid and "-.->" in mermaid
    assert dot.startswith("digraph flow {") and '"entrega" -> "minimo" [label="si order.fulfilment ==' in dot
    assert '\\"delivery\\"' in dot  # quotes inside a label are escaped
    assert '"confirmar" -> "corregir" [label="no"];' in dot
    with pytest.raises(ValueError):
        render_graph(flows, "png")  # type: ignore[arg-type]
    svg = render_svg(flows)
    assert svg.count('<g class="node node-step"') == len(flows.order.steps)


@pytest.mark.anyio
async def test_the_live_feed_says_each_new_version_once_and_survives_a_failed_look() -> None:
    answers = iter(["a", "a", RuntimeError("store away"), "b", "b", "c"])

    async def current() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    seen = []
    async for version in versions(current, 0, logging.getLogger("t")):
        seen.append(version)
        if version == "c":
            break
    assert seen == ["a", "b", "c"]


@pytest.mark.parametrize("zone", ["America/Mexico_City", "America/Los_Angeles"])
def test_the_tally_s_day_is_the_restaurant_s_across_midnight_and_clock_changes(zone):
    tally = StepTally(MemoryStore(lambda: 0.0), zone, 30, lambda: 0.0, logging.getLogger("t"))
    tz = ZoneInfo(zone)
    start = datetime(2026, 3, 7, 22, 0, tzinfo=tz).timestamp()  # the US clocks change on March 8
    for minutes in range(0, 4 * 24 * 60, 7):  # a reading every 7 minutes for four days, in order
        at = start + minutes * 60
        assert tally.day(at) == datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d")
    assert tally.day(start) == "2026-03-07"  # and back again
