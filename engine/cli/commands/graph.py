"""``rinconcito graph [--format mermaid|dot] [--dir flows]``: the order flow as text a pull request
or Graphviz can draw — every step, where each goes next (with its condition) and the global commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.report import load_or_report
from engine.panel.graph import render_graph


def run(args: argparse.Namespace) -> int:
    return graph(Path(args.dir), args.format, args.lang)


def graph(directory: Path, fmt: str, lang: str) -> int:
    flows = load_or_report(directory, lang)
    if flows is None:
        return 1
    print(render_graph(flows, "dot" if fmt == "dot" else "mermaid"))
    return 0
