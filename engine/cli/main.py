"""The ``rinconcito`` command: validate, test, chat, graph, serve, content.

``main`` reads the arguments and runs one command. Each command is a small function in its own
module of ``engine.cli.commands``, loaded only when that command runs: ``rinconcito validate``
never loads the web server, Twilio or Supabase. A mistake in the flows or in the arguments is
reported in plain words with exit code 1 (or 2 for bad arguments), never with a traceback.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from typing import Callable, Sequence, cast

Command = Callable[[argparse.Namespace], int]
"""A command's ``run``: the parsed arguments in, the exit code out."""

COMMANDS = {
    "validate": "check the flow files",
    "test": "run the conversation tests in flows/tests/",
    "chat": "talk to the bot in the terminal",
    "graph": "print the order flow as Mermaid or Graphviz (DOT) text",
    "serve": "run the WhatsApp webhook server",
    "content": "make the flows' WhatsApp buttons and lists in Twilio (content sync)",
}
"""Each command, its help line; its code is ``engine.cli.commands.<name>.run``."""


def parser() -> argparse.ArgumentParser:
    # --lang works before or after the command: `rinconcito --lang en validate` or `validate --lang en`.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--lang", choices=("es", "en"), default=argparse.SUPPRESS, help="language of the messages")
    top = argparse.ArgumentParser(prog="rinconcito", description="WhatsApp ordering bots from YAML flows.", parents=[common])
    sub = top.add_subparsers(dest="command", required=True)
    add = {name: sub.add_parser(name, help=help_, parents=[common]) for name, help_ in COMMANDS.items()}

    add["validate"].add_argument("dir", nargs="?", default="flows")
    add["validate"].add_argument("--format", choices=("text", "github"), default="text")

    add["test"].add_argument("files", nargs="*")
    add["test"].add_argument("--dir", default="flows")

    add["chat"].add_argument("--at", help='moment of the conversation, "2026-11-27 14:00" (restaurant time)')
    add["chat"].add_argument("--from", default=None, help="the customer's WhatsApp number")
    add["chat"].add_argument("--dir", default="flows")

    add["graph"].add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    add["graph"].add_argument("--dir", default="flows")

    add["serve"].add_argument("--host", default="127.0.0.1")
    add["serve"].add_argument("--port", type=int, default=None, help="default: $PORT, else 8000")

    add["content"].add_argument("action", choices=("sync",))
    add["content"].add_argument("--dir", default="flows")
    return top


def command(name: str) -> Command:
    """The ``run`` of one command. Lazy on purpose: only the command that runs is imported, so a
    quick ``validate`` does not pay for the server's libraries.

    The garbage collector waits while the modules load, then leaves what they made out of every
    later collection (``gc.freeze``): modules, classes and functions live as long as the process,
    and walking them again and again as they grew, then once more after, was ≈ 15 % of starting
    the server."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        module = importlib.import_module(f"engine.cli.commands.{name}")
    finally:
        gc.freeze()
        if collecting:
            gc.enable()
    return cast(Command, module.run)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.lang = getattr(args, "lang", "es")
    try:
        return command(args.command)(args)
    except KeyboardInterrupt:
        return 130
    except (OSError, ValueError) as error:
        print(f"❌ {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
