"""Business hours: is the kitchen taking orders at this moment, and when does it open next.

Pure: the caller passes ``now``. A service that closes earlier than it opens ends the next day
(Friday 13:00-01:00 ends Saturday 01:00), so a moment belongs to today's service or to
yesterday's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from engine.model.hours import Hours, Opening

WEEKDAYS = {
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS_ES = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
    "octubre", "noviembre", "diciembre",
)
LOOKAHEAD_DAYS = 400


@dataclass(frozen=True, slots=True)
class Service:
    """One concrete service: from ``opens`` to ``closes`` (aware datetimes)."""

    opens: datetime
    closes: datetime


def opening_on(hours: Hours, day: date) -> Opening | None:
    special = hours.special.get(day.isoformat(), ...)
    if special is not ...:
        return special  # type: ignore[return-value]
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


def describe_opening(when: datetime | None, now: datetime, language: str = "es") -> str:
    """ "hoy a las 13:00", "mañana a las 13:00", "el martes a las 13:00", "el 2 de enero a las 13:00"."""
    if when is None:
        return "por ahora no tenemos fecha de apertura" if language == "es" else "we have no opening date yet"
    local_now = now.astimezone(when.tzinfo)
    days = (when.date() - local_now.date()).days
    clock = when.strftime("%H:%M")
    if language != "es":
        day = "today" if days == 0 else "tomorrow" if days == 1 else (
            f"on {WEEKDAYS['en'][when.weekday()]}" if days < 7 else f"on {when:%B} {when.day}")
        return f"we open {day} at {clock}"
    if days == 0:
        day = "hoy"
    elif days == 1:
        day = "mañana"
    elif days < 7:
        day = f"el {WEEKDAYS['es'][when.weekday()]}"
    else:
        day = f"el {when.day} de {MONTHS_ES[when.month - 1]}"
    return f"abrimos {day} a las {clock}"
