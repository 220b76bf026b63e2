"""Problems in the flows, printed for the people who edit them: as text, or as GitHub annotations."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence, TextIO

from engine.loading.pipeline import load_flows
from engine.loading.problems import FlowErrors, FlowProblem
from engine.runtime.flows import Flows

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


def load_or_report(directory: Path, lang: str) -> Flows | None:
    """The flows in ``directory``, or None after printing why they do not load."""
    try:
        return load_flows(directory)
    except FlowErrors as errors:
        print_problems(errors.problems, "text", lang, sys.stderr)
        return None
