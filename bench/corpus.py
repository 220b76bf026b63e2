"""How well the bot understands real customers: the corpus of tests/corpus/, played through the runtime.

Prints the share of entries understood per kind and in total, then every silent wrong action
(the bot changed the cart or an answer, or placed an order, when it should have asked or done
something else). ``--failures [KIND ...]`` also prints what happened for each entry not
understood (all kinds, or the ones named).

Run with `.venv/bin/python bench/corpus.py [--failures [KIND ...]]`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.loading.pipeline import load_flows  # noqa: E402
from engine.testing.corpus import KINDS, Verdict, explain, load_corpus, play_all, tally  # noqa: E402

TARGET = 95.0
"""Per cent understood the issue "Talk like a good cashier" asks for (with no silent wrong action)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--failures", nargs="*", metavar="KIND", choices=KINDS, help="explain what was not understood")
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "corpus")
    parser.add_argument("--flows", type=Path, default=ROOT / "flows")
    args = parser.parse_args(argv)

    flows = load_flows(args.flows)
    corpus = load_corpus(args.corpus, flows)
    results = play_all(flows, corpus)
    kinds, total = tally(results)

    print(f"{'kind':<16}{'entries':>8}{'understood':>12}{'%':>8}{'silent wrong':>14}")
    for kind, counted in kinds.items():
        print(f"{kind:<16}{counted.entries:>8}{counted.understood:>12}{counted.percent:>7.1f}%{counted.silent_wrong:>14}")
    print(f"{'total':<16}{total.entries:>8}{total.understood:>12}{total.percent:>7.1f}%{total.silent_wrong:>14}")
    natural = [r for r in results if r.entry.kind != "scripted"]
    _, beyond = tally(natural)
    print(f"{'without scripted':<16}{beyond.entries:>8}{beyond.understood:>12}{beyond.percent:>7.1f}%{beyond.silent_wrong:>14}")
    print(f"target: {TARGET:.0f} % understood, no silent wrong action")

    silent = [r for r in results if r.verdict is Verdict.SILENT_WRONG]
    print(f"\nsilent wrong actions ({len(silent)}):")
    for result in silent:
        print(f"  {result.entry.id}  ->  {'; '.join(result.wrong)}")

    if args.failures is not None:
        wanted = set(args.failures or KINDS)
        print()
        for result in results:
            if result.verdict is not Verdict.UNDERSTOOD and result.entry.kind in wanted:
                print(explain(result), end="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
