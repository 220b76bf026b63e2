"""The ``rinconcito`` command: validate, chat, test, serve. Each command is a small function.

A mistake in the flows or in the arguments is reported in plain words with exit code 1 (or 2
for bad arguments), never with a traceback.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Sequence, TextIO
from zoneinfo import ZoneInfo

from engine.http.serve import main as serve
from engine.loading.pipeline import inspect, load_flows
from engine.loading.problems import FlowErrors, FlowProblem
from engine.model.effects import NotifyAdmin, SaveOrder
from engine.model.inbound import Location
from engine.testing.conversations import (
    DEFAULT_CUSTOMER,
    Conversation,
    parse_duration,
    parse_moment,
    run_file,
    transcript,
)

LABELS = {
    "es": {"error": "error", "warning": "aviso", "where": "dónde", "fix": "cómo arreglarlo", "ok": "✅ Los flujos están bien", "bad": "❌ {n} error(es)"},
    "en": {"error": "error", "warning": "warning", "where": "where", "fix": "how to fix", "ok": "✅ The flows are fine", "bad": "❌ {n} error(s)"},
}


def print_problems(problems: Sequence[FlowProblem], fmt: str, lang: str, out: TextIO) -> None:
    words = LABELS[lang]
    for p in problems:
        if fmt == "github":
            level = "error" if p.severity == "error" else "warning"
            text = p.render(lang).replace("%", "%25").replace("\n", "%0A")
            print(f"::{level} file={p.file},line={p.line},col={p.column},title={p.where()}::{text}", file=out)
            continue
        print(f"{p.location()}: {words[p.severity]}: {p.message(lang)}", file=out)
        print(f"    {words['where']}: {p.where()}", file=out)
        if p.hint(lang):
            print(f"    {words['fix']}: {p.hint(lang).strip()}", file=out)


def cmd_validate(args: argparse.Namespace) -> int:
    loaded = inspect(Path(args.dir))
    print_problems(loaded.problems, args.format, args.lang, sys.stdout)
    if loaded.errors:
        print(LABELS[args.lang]["bad"].format(n=len(loaded.errors)))
        return 1
    if args.format == "text":
        print(LABELS[args.lang]["ok"])
    return 0


def load_or_report(directory: str, lang: str) -> object | None:
    try:
        return load_flows(Path(directory))
    except FlowErrors as errors:
        print_problems(errors.problems, "text", lang, sys.stderr)
        return None


def cmd_test(args: argparse.Namespace) -> int:
    flows = load_or_report(args.dir, args.lang)
    if flows is None:
        return 1
    files = [Path(f) for f in args.files] or sorted((Path(args.dir) / "tests").glob("*.yaml"))
    passed = failed = 0
    for path in files:
        try:
            results = run_file(flows, path)  # type: ignore[arg-type]
        except FlowErrors as errors:
            print_problems(errors.problems, "text", args.lang, sys.stdout)
            failed += 1
            continue
        for result in results:
            if result.passed:
                passed += 1
                print(f"✓ {result.file}:{result.line} {result.name}")
            else:
                failed += 1
                print(f"✗ {result.file}:{result.line} {result.name}")
                print(transcript(result))
                for failure in result.failures:
                    print(f"  ✗ {failure}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


def cmd_chat(args: argparse.Namespace) -> int:
    flows = load_or_report(args.dir, args.lang)
    if flows is None:
        return 1
    zone = flows.hours.timezone  # type: ignore[attr-defined]
    start = parse_moment(args.at, zone) if args.at else datetime.now(ZoneInfo(zone))
    talk = Conversation(flows, getattr(args, "from"), start)  # type: ignore[arg-type]
    print(f"🌮 Chat con el bot ({talk.now:%Y-%m-%d %H:%M}, desde {talk.customer}).")
    print("   /ubicacion 19.43,-99.13 manda una ubicación · /espera 31m adelanta el reloj · /salir termina")
    for raw in sys.stdin:
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
            if isinstance(effect, SaveOrder):
                print(f"   ⚙️  pedido guardado: total ${effect.order.total}, {len(effect.order.lines)} línea(s)")
            elif isinstance(effect, NotifyAdmin):
                print(f"   ⚙️  aviso al admin ({effect.kind}): " + effect.text.replace("\n", " / "))
            else:
                print(f"   ⚙️  {type(effect).__name__}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    return serve(args.host, args.port)


def parser() -> argparse.ArgumentParser:
    # --lang works before or after the command: `rinconcito --lang en validate` or `validate --lang en`.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--lang", choices=("es", "en"), default=argparse.SUPPRESS, help="language of the messages")
    top = argparse.ArgumentParser(prog="rinconcito", description="WhatsApp ordering bots from YAML flows.", parents=[common])
    sub = top.add_subparsers(dest="command", required=True)

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_, parents=[common])

    validate = command("validate", "check the flow files")
    validate.add_argument("dir", nargs="?", default="flows")
    validate.add_argument("--format", choices=("text", "github"), default="text")
    validate.set_defaults(run=cmd_validate)

    chat = command("chat", "talk to the bot in the terminal")
    chat.add_argument("--at", help='moment of the conversation, "2026-11-27 14:00" (restaurant time)')
    chat.add_argument("--from", default=DEFAULT_CUSTOMER, help="the customer's WhatsApp number")
    chat.add_argument("--dir", default="flows")
    chat.set_defaults(run=cmd_chat)

    test = command("test", "run the conversation tests in flows/tests/")
    test.add_argument("files", nargs="*")
    test.add_argument("--dir", default="flows")
    test.set_defaults(run=cmd_test)

    serve = command("serve", "run the WhatsApp webhook server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: $PORT, else 8000")
    serve.set_defaults(run=cmd_serve)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.lang = getattr(args, "lang", "es")
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
    except (OSError, ValueError) as error:
        print(f"❌ {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
