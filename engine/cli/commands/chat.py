"""``rinconcito chat [--at moment] [--from number] [--dir flows]``: talk to the bot in the terminal.

A reply that ends on a question with reply buttons or a list (what the service would send as a
Content template, ``engine.runtime.taps.offer_sent``) shows them under the numbered text:
``🔘 [ Maíz ] [ Harina (+$15) ]``, or the list's button and its items. Typing a button's title,
or ``/tap <id>``, sends a tap as WhatsApp does (the option's id and its title), read by its id
before any text; anything else is typed text, as ever.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from engine.cli.report import load_or_report
from engine.model.effects import Effect, NotifyAdmin, SaveOrder
from engine.model.inbound import Location
from engine.runtime.cart import format_money
from engine.runtime.choices_view import Offer, Option
from engine.runtime.flows import Flows
from engine.runtime.taps import offer_sent
from engine.testing.conversations import (
    DEFAULT_CUSTOMER,
    Conversation,
    parse_duration,
    parse_moment,
)

HELP = ("   /ubicacion 19.43,-99.13 manda una ubicación · /espera 31m adelanta el reloj · "
        "/tap <id> toca un botón (o escribe su título) · /salir termina")


def run(args: argparse.Namespace) -> int:
    customer = getattr(args, "from")  # "from" is a keyword: no args.from
    return chat(Path(args.dir), args.at, DEFAULT_CUSTOMER if customer is None else customer, args.lang, sys.stdin)


def chat(directory: Path, at: str | None, customer: str, lang: str, lines: TextIO) -> int:
    flows = load_or_report(directory, lang)
    if flows is None:
        return 1
    zone = flows.hours.timezone
    start = parse_moment(at, zone) if at else datetime.now(ZoneInfo(zone))
    talk = Conversation(flows, customer, start)
    print(f"💬 Chat con el bot ({talk.now:%Y-%m-%d %H:%M}, desde {talk.customer}).")
    print(HELP)
    offer: Offer | None = None
    """The buttons under the bot's last message (None: nothing to tap)."""
    titles: dict[str, str] = {}
    """Every tap id shown so far -> its title: a tap on an older message carries its own."""
    for raw in lines:
        text = raw.strip()
        if text in ("/salir", "/exit", "/quit"):
            break
        if text.startswith("/espera"):
            talk.wait(parse_duration(text) or timedelta())
            print(f"   ⏱️  ahora: {talk.now:%Y-%m-%d %H:%M}")
            continue
        location = None
        tap = None
        if text.startswith("/ubicacion"):
            try:
                lat, lon = (float(x) for x in text.split(maxsplit=1)[1].split(","))
            except (ValueError, IndexError):
                print("   uso: /ubicacion 19.43,-99.13")
                continue
            location, text = Location(lat, lon), ""
        elif text == "/tap" or text.startswith("/tap "):
            tap = text.removeprefix("/tap").strip()
            if not tap:
                print(tap_usage(offer))
                continue
            text = titles.get(tap, tap)
        elif offer is not None and (option := titled(offer, text)) is not None:
            tap, text = option.tap, option.title  # a button's title: as if it was tapped
        outcome = talk.send(text, location, tap=tap)
        for reply in outcome.replies:
            print("🤖 " + reply.replace("\n", "\n   "))
        offer = offer_sent(flows, outcome)
        if offer is not None:
            titles.update((option.tap, option.title) for option in offer.options)
            print(show_offer(offer))
        for effect in outcome.effects:
            print(describe(effect, flows))
    return 0


def titled(offer: Offer, text: str) -> Option | None:
    """The option whose title ``text`` is (letter case and spaces aside)."""
    wanted = " ".join(text.split()).casefold()
    return next((option for option in offer.options if option.title.casefold() == wanted), None) if wanted else None


def show_offer(offer: Offer) -> str:
    """The buttons as a line, or the list as its button and its items."""
    if offer.kind == "buttons":
        return "   🔘 " + " ".join(f"[ {option.title} ]" for option in offer.options)
    items = [f"      · {option.title}" + (f" — {option.description}" if option.description else "")
             for option in offer.options]
    return "\n".join([f"   📋 [ {offer.list_button} ]", *items])


def tap_usage(offer: Offer | None) -> str:
    if offer is None:
        return "   uso: /tap <id> (el último mensaje no tiene botones)"
    return "   uso: /tap <id>: " + " · ".join(f"{option.tap} ({option.title})" for option in offer.options)


def describe(effect: Effect, flows: Flows) -> str:
    """What the service would do next, in one line of the chat."""
    if isinstance(effect, SaveOrder):
        total = format_money(effect.order.total, flows.restaurant.money)
        return f"   ⚙️  pedido guardado: total {total}, {len(effect.order.lines)} línea(s)"
    if isinstance(effect, NotifyAdmin):
        return f"   ⚙️  aviso al admin ({effect.kind}): " + effect.text.replace("\n", " / ")
    return f"   ⚙️  {type(effect).__name__}"
