"""``rinconcito test [files] [--dir flows]``: run the conversation tests, ``flows/tests/*.yaml`` by default."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli.report import load_or_report, print_problems
from engine.loading.problems import FlowErrors
from engine.testing.conversations import run_file, transcript


def run(args: argparse.Namespace) -> int:
    return test(Path(args.dir), [Path(f) for f in args.files], args.lang)


def test(directory: Path, files: list[Path], lang: str) -> int:
    """Exit code 0 when every test passed and there was at least one."""
    flows = load_or_report(directory, lang)
    if flows is None:
        return 1
    passed = failed = 0
    for path in files or sorted((directory / "tests").glob("*.yaml")):
        try:
            results = run_file(flows, path)
        except FlowErrors as errors:
            print_problems(errors.problems, "text", lang, sys.stdout)
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
