from __future__ import annotations

import pytest

from engine.runtime.hours import describe_opening, next_opening, taking_orders
from tests.conftest import at


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        ("2026-11-30 14:00", False),  # Monday: closed all day
        ("2026-11-24 12:59", False),  # Tuesday before opening
        ("2026-11-24 13:00", True),
        ("2026-11-24 22:39", True),
        ("2026-11-24 22:40", False),  # last orders 20 minutes before 23:00
        ("2026-11-28 00:30", True),  # Saturday 00:30: Friday's service runs to 01:00
        ("2026-11-28 00:45", False),  # after Friday's cut-off (00:40)
        ("2026-11-29 00:30", True),  # Sunday 00:30: Saturday's service
        ("2026-11-29 21:39", True),  # Sunday closes 22:00
        ("2026-11-29 21:41", False),
        ("2026-11-30 00:30", False),  # Sunday's service does not cross midnight
        ("2026-12-24 17:39", True),  # special hours 13:00-18:00
        ("2026-12-24 17:45", False),
        ("2026-12-24 20:00", False),
        ("2026-12-25 14:00", False),  # closed all day (a Friday)
        ("2026-12-26 00:30", False),  # no Friday service on the 25th, so none past midnight
        ("2027-01-01 14:00", False),
        ("2027-01-02 14:00", True),
    ],
)
def test_taking_orders(flows, moment, open_):
    assert taking_orders(flows.hours, at(moment)) is open_


@pytest.mark.parametrize(
    ("moment", "said"),
    [
        ("2026-11-30 10:00", "abrimos mañana a las 13:00"),  # Monday
        ("2026-11-29 23:00", "abrimos el martes a las 13:00"),  # Sunday night
        ("2026-11-24 11:00", "abrimos hoy a las 13:00"),
        ("2026-11-28 00:45", "abrimos hoy a las 13:00"),  # Saturday after the cut-off
        ("2026-12-25 12:00", "abrimos mañana a las 13:00"),
        ("2026-12-24 19:00", "abrimos el sábado a las 13:00"),  # the 25th is closed
    ],
)
def test_next_opening_in_spanish(flows, moment, said):
    now = at(moment)
    assert describe_opening(next_opening(flows.hours, now), now, "es") == said


def test_far_opening_names_the_date(flows):
    now = at("2026-11-24 23:30")
    when = at("2026-12-02 13:00")
    assert describe_opening(when, now, "es") == "abrimos el 2 de diciembre a las 13:00"
    assert describe_opening(when, now, "en") == "we open on December 2 at 13:00"
