"""``rinconcito serve [--host h] [--port p]``: the WhatsApp webhook server, as Render starts it."""

from __future__ import annotations

import argparse

from engine.http.serve import main as serve


def run(args: argparse.Namespace) -> int:
    return serve(args.host, args.port)
