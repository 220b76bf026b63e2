"""Everything that can be wrong in a flow file, each as its own exception class.

A problem knows its file and its place in the file (a path of keys and indexes); the loading
pipeline adds the line and column. Its text and its fix are written for the people who edit the
flows, in Spanish (``es``) and English (``en``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable

Path = tuple[str | int, ...]
LANGUAGES = ("es", "en")


@dataclass(eq=False)
class FlowProblem(Exception):
    """Base class: one mistake in one flow file."""

    file: str
    """The file, as the editor knows it (``flows/order.yaml``)."""
    path: Path = ()
    """Where in the file: keys and list indexes from the top (``("steps", "pedir", "next")``)."""
    line: int = 0
    """1-based; 0 while not yet located."""
    column: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    """The values the texts below are filled with."""
    severity: str = "error"
    """``error`` fails validation; ``warning`` is only shown."""

    text: ClassVar[dict[str, str]] = {"es": "Hay un problema.", "en": "There is a problem."}
    fix: ClassVar[dict[str, str]] = {"es": "", "en": ""}

    def __post_init__(self) -> None:
        Exception.__init__(self, self.render("en"))

    @property
    def flow(self) -> str:
        """The flow file's name without folder (``order.yaml``)."""
        return self.file.rsplit("/", 1)[-1]

    @property
    def step(self) -> str | None:
        """The step id, when the problem is inside a step."""
        if len(self.path) >= 2 and self.path[0] == "steps":
            return str(self.path[1])
        return None

    def where(self) -> str:
        """``order.yaml › steps › pedir › next``."""
        return " › ".join([self.flow, *(f"[{p + 1}]" if isinstance(p, int) else str(p) for p in self.path)])

    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file

    def message(self, lang: str = "es") -> str:
        return _fill(self.text, lang, self.details)

    def hint(self, lang: str = "es") -> str:
        return _fill(self.fix, lang, self.details)

    def render(self, lang: str = "es") -> str:
        hint = self.hint(lang)
        return f"{self.message(lang)}" + (f" {hint}" if hint else "")


def _fill(texts: dict[str, str], lang: str, details: dict[str, Any]) -> str:
    template = texts.get(lang) or texts["en"]
    try:
        # "{close}" in a text is the "did you mean" tail, in the text's language.
        return template.format(**{**details, "close": did_you_mean(details, lang)})
    except (KeyError, IndexError):
        return template


def did_you_mean(details: dict[str, Any], lang: str) -> str:
    """The "did you mean" tail shared by several problems."""
    close = details.get("close")
    if not close:
        return ""
    return {"es": f" ¿Quisiste decir «{close}»?", "en": f" Did you mean '{close}'?"}[lang if lang in LANGUAGES else "en"]


class FlowErrors(Exception):
    """Loading failed: every problem found, in file order."""

    def __init__(self, problems: Iterable[FlowProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column))
        super().__init__(f"{len(self.problems)} problem(s) in the flows")


def problem(kind: type[FlowProblem], file: str, path: Path = (), **details: Any) -> FlowProblem:
    """Build a problem of ``kind`` with its details (a shorter spelling used by the checks)."""
    return kind(file=file, path=tuple(path), details=details)
