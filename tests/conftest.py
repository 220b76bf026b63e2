from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.loading.pipeline import load_flows
from engine.runtime.flows import Flows

ROOT = Path(__file__).resolve().parent.parent
MEXICO = ZoneInfo("America/Mexico_City")


@pytest.fixture(scope="session")
def flows() -> Flows:
    return load_flows(ROOT / "flows")


def at(text: str) -> datetime:
    """A moment in the restaurant's time zone: at("2026-11-27 14:00")."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=MEXICO)
