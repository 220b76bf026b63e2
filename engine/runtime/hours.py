"""Business hours: is the kitchen taking orders at this moment, and when does it open next.

Pure: the caller passes ``now``. A service that closes earlier than it opens ends the next day
(Friday 13:00-01:00 ends Saturday 01:00), so a moment belongs to today's service or to
yesterday's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from engine.languages import LANGUAGES
from engine.languages.language import Language
from engine.model.hours import Hours, Opening

WEEKDAYS = {code: language.weekdays for code, language in LANGUAGES.items()}
"""Weekday names (Monday first) by language code."""
LOOKAHEAD_DAYS = 400


@dataclass(frozen=True, slots=True)
class Service:
    """One concrete service: from ``opens`` to ``closes`` (aware datetimes)."""

    opens: datetime
    closes: datetime


def opening_on(hours: Hours, day: date) -> Opening | None:
    special = hours.special.get(day.isoformat(), ...)
    if special is not ...:
        return special
    return hours.weekly[day.weekday()]


def service_on(hours: Hours, day: date) -> Service | None:
    opening = opening_on(hours, day)
    if opening is None:
        return None
    zone = ZoneInfo(hours.timezone)
    opens = datetime.combine(day, opening.opens, zone)
    close_day = day + timedelta(days=1) if opening.crosses_midnight else day
    return Service(opens, datetime.combine(close_day, opening.closes, zone))


def last_order(hours: Hours, service: Service) -> datetime:
    return service.closes - timedelta(minutes=hours.last_orders_minutes)


def current_service(hours: Hours, now: datetime) -> Service | None:
    """The service taking orders at ``now`` (open and before the last-order cut-off), if any."""
    local = now.astimezone(ZoneInfo(hours.timezone))
    for day in (local.date() - timedelta(days=1), local.date()):
        service = service_on(hours, day)
        if service and service.opens <= local < last_order(hours, service):
            return service
    return None


def taking_orders(hours: Hours, now: datetime) -> bool:
    return current_service(hours, now) is not None


class Schedule:
    """``taking_orders`` for one set of hours, remembered until the schedule next changes.

    Every message asks whether the kitchen is taking orders; the answer only changes at an
    opening or a last-order time, so it is worked out once per stretch between them.
    """

    def __init__(self, hours: Hours) -> None:
        self.hours = hours
        self._known: tuple[float, float, bool] = (0.0, 0.0, False)
        """From, until (epoch seconds) and the answer that holds in between."""

    def taking_orders(self, now: datetime) -> bool:
        start, end, answer = self._known
        moment = now.timestamp()
        if start <= moment < end:
            return answer
        answer = taking_orders(self.hours, now)
        # At most a day ahead: next_change falls back to a year ahead when nothing opens.
        end = min(next_change(self.hours, now), now + timedelta(days=1)).timestamp()
        self._known = (moment, end, answer)
        return answer


def next_change(hours: Hours, now: datetime) -> datetime:
    """When the schedule next switches between taking orders and not (a year away at most)."""
    service = current_service(hours, now)
    if service is not None:
        return last_order(hours, service)
    return next_opening(hours, now) or now + timedelta(days=LOOKAHEAD_DAYS)


def next_opening(hours: Hours, now: datetime) -> datetime | None:
    """The start of the next service after ``now``; None if none within a year."""
    local = now.astimezone(ZoneInfo(hours.timezone))
    for offset in range(LOOKAHEAD_DAYS):
        service = service_on(hours, local.date() + timedelta(days=offset))
        if service and service.opens > local:
            return service.opens
    return None


def describe_opening(when: datetime | None, now: datetime, language: Language) -> str:
    """In the restaurant's language: "abrimos hoy a las 13:00", "abrimos mañana a las 13:00",
    "abrimos el martes a las 13:00", "abrimos el 2 de enero a las 13:00"."""
    phrases = language.opening
    if when is None:
        return phrases.unknown
    days = (when.date() - now.astimezone(when.tzinfo).date()).days
    phrase = phrases.today if days == 0 else phrases.tomorrow if days == 1 else phrases.weekday if days < 7 else phrases.date
    return phrase.format(
        time=language.clock_text(when.hour, when.minute),
        weekday=language.weekdays[when.weekday()],
        day=when.day,
        month=language.months[when.month - 1],
    )
