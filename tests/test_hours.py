from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from engine.languages.en import EN
from engine.languages.es import ES
from engine.model.hours import Opening
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
    assert describe_opening(next_opening(flows.hours, now), now, ES) == said


def test_far_opening_names_the_date(flows):
    now = at("2026-11-24 23:30")
    when = at("2026-12-02 13:00")
    assert describe_opening(when, now, ES) == "abrimos el 2 de diciembre a las 13:00"
    assert describe_opening(when, now, EN) == "we open on December 2 at 1:00 pm"


@pytest.mark.parametrize(
    ("when", "said"),
    [
        ("2026-11-24 09:30", "we open today at 9:30 am"),
        ("2026-11-25 12:00", "we open tomorrow at 12:00 pm"),
        ("2026-11-27 00:15", "we open on Friday at 12:15 am"),
    ],
)
def test_english_opening_on_a_twelve_hour_clock(when, said):
    assert describe_opening(at(when), at("2026-11-24 08:00"), EN) == said


def test_no_opening_within_a_year():
    assert describe_opening(None, at("2026-11-24 08:00"), ES) == "por ahora no tenemos fecha de apertura"
    assert describe_opening(None, at("2026-11-24 08:00"), EN) == "we have no opening date yet"


def test_a_restaurant_phrase_names_what_it_wants():
    own = replace(EN, opening=replace(EN.opening, tomorrow="back tomorrow, {weekday} {month} {day}, from {time}"))
    assert describe_opening(at("2026-11-25 11:00"), at("2026-11-24 22:00"), own) == "back tomorrow, Wednesday November 25, from 11:00 am"


def test_today_and_tomorrow_are_the_restaurant_s_days():
    """11 pm in Los Angeles is already tomorrow in UTC: the days are counted where the restaurant is."""
    pacific = ZoneInfo("America/Los_Angeles")
    now = datetime(2026, 11, 24, 23, 0, tzinfo=pacific).astimezone(ZoneInfo("UTC"))
    when = datetime(2026, 11, 25, 11, 0, tzinfo=pacific)
    assert describe_opening(when, now, EN) == "we open tomorrow at 11:00 am"


def test_open_around_the_clock(flows):
    """ "00:00-24:00" every day, no cut-off: taking orders at any minute of the week."""
    all_day = Opening(time(0), time(0))
    hours = replace(flows.hours, weekly=(all_day,) * 7, special={}, last_orders_minutes=0)
    for moment in ("2026-11-30 00:00", "2026-11-30 03:17", "2026-11-30 23:59", "2026-12-01 00:00", "2026-12-06 12:00"):
        assert taking_orders(hours, at(moment)), moment
