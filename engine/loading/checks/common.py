"""What every check module shares: the shape of a check, "did you mean", and a sample hour."""

from __future__ import annotations

from datetime import datetime, timezone
from difflib import get_close_matches
from typing import Callable, Iterable, Iterator

from engine.loading.problems import FlowProblem
from engine.loading.source import Source
from engine.runtime.context import HoursView
from engine.runtime.flows import Flows
from engine.runtime.overrides import Overrides

Found = Iterator[tuple[str, FlowProblem]]
"""What a check yields: the kind of file ("order", "menu"...) and a problem in it."""
Check = Callable[[Flows, dict[str, Source]], Found]

SAMPLE_MOMENT = datetime(2026, 1, 7, 14, 0, tzinfo=timezone.utc)
"""The moment messages are rendered at while they are checked (any moment would do)."""


def close_to(word: str, options: Iterable[str]) -> str | None:
    """The option most like ``word``, for the "did you mean" tail of a problem."""
    found = get_close_matches(word, list(options), n=1, cutoff=0.6)
    return found[0] if found else None


def file_of(sources: dict[str, Source], kind: str) -> str:
    return sources[kind].file


def sample_hours(flows: Flows) -> HoursView:
    """The restaurant open, as the admin's ``#abrir`` would leave it: no time zone is consulted,
    so a misspelt one is reported once, by the hours checks, and never breaks a message check."""
    until = int(SAMPLE_MOMENT.timestamp()) + 3600
    return HoursView(flows, SAMPLE_MOMENT, Overrides(forced_open=True, until=until))
