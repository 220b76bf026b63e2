"""``rinconcito validate [dir] [--format text|github]``: every problem in the flows, at once."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli.report import LABELS, print_problems
from engine.loading.pipeline import inspect


def run(args: argparse.Namespace) -> int:
    return validate(Path(args.dir), args.format, args.lang)


def validate(directory: Path, fmt: str, lang: str) -> int:
    loaded = inspect(directory, record=True)  # a start of the same flows then need not check them again
    print_problems(loaded.problems, fmt, lang, sys.stdout)
    if loaded.errors:
        print(LABELS[lang]["bad"].format(n=len(loaded.errors)))
        return 1
    if fmt == "text":
        print(LABELS[lang]["ok"])
    return 0
