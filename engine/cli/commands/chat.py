"""``rinconcito chat [--at moment] [--from number] [--dir flows]``: talk to the bot in the terminal."""

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
from engine.runtime.flows import Flows
from engine.testing.conversations import (
    DEFAULT_CUSTOMER,
    Conversation,
    parse_duration,
    parse_moment,
)


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
    print("   /ubicacion 19.43,-99.13 manda una ubicación · /espera 31m adelanta el reloj · /salir termina")
    for raw in lines:
        text = raw.strip()
        if text in ("/salir", "/exit", "/quit"):
            break
        if text.startswith("/espera"):
            talk.wait(parse_duration(text) or timedelta())
            print(f"   ⏱️  ahora: {talk.now:%Y-%m-%d %H:%M}")
            continue
        location = None
        if text.startswith("/ubicacion"):
            try:
                lat, lon = (float(x) for x in text.split(maxsplit=1)[1].split(","))
            except (ValueError, IndexError):
                print("   uso: /ubicacion 19.43,-99.13")
                continue
            location, text = Location(lat, lon), ""
        outcome = talk.send(text, location)
        for reply in outcome.replies:
            print("🤖 " + reply.replace("\n", "\n   "))
        for effect in outcome.effects:
            print(describe(effect, flows))
    return 0


def describe(effect: Effect, flows: Flows) -> str:
    """What the service would do next, in one line of the chat."""
    if isinstance(effect, SaveOrder):
        total = format_money(effect.order.total, flows.restaurant.money)
        return f"   ⚙️  pedido guardado: total {total}, {len(effect.order.lines)} línea(s)"
    if isinstance(effect, NotifyAdmin):
        return f"   ⚙️  aviso al admin ({effect.kind}): " + effect.text.replace("\n", " / ")
    return f"   ⚙️  {type(effect).__name__}"
