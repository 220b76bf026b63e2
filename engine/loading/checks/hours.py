"""Opening hours: a known time zone, hours that open before they close, services that do not overlap, real dates."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from engine.loading.build import DAYS
from engine.loading.checks.common import Found, close_to, file_of
from engine.loading.problems import FlowProblem, problem
from engine.loading.source import Source
from engine.runtime.flows import Flows
from engine.runtime.hours import WEEKDAYS, service_on

CONTINENTS = frozenset({"Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"})
"""Current zone names start with these; "Mexico/General" and the like are old aliases."""


LATEST_OVERNIGHT_CLOSE = 6
"""A service that closes after midnight must close by 06:00, or it was probably written backwards."""


class UnknownTimezone(FlowProblem):
    text = {"es": "No conozco la zona horaria «{zone}».", "en": "Unknown time zone '{zone}'."}
    fix = {"es": "Usa un nombre como America/Mexico_City.{close}", "en": "Use a name such as America/Mexico_City.{close}"}


class OpensAndClosesAtOnce(FlowProblem):
    text = {"es": "El horario «{hours}» abre y cierra a la misma hora.", "en": "Hours '{hours}' open and close at the same time."}
    fix = {
        "es": "Escribe apertura-cierre, ej. \"13:00-23:00\"; si ese día no abres, escribe closed.",
        "en": "Write opening-closing, e.g. \"13:00-23:00\"; if closed that day, write closed.",
    }


class ClosesBeforeOpening(FlowProblem):
    text = {
        "es": "El horario «{hours}» cierra antes de abrir.",
        "en": "Hours '{hours}' close before they open.",
    }
    fix = {
        "es": "Escribe primero la apertura, ej. \"13:00-23:00\". Si de verdad cierras al día siguiente, "
        "la hora de cierre debe ser antes de las {latest}:00 (ej. \"13:00-01:00\").",
        "en": "Write the opening first, e.g. \"13:00-23:00\". If you really close the next day, "
        "closing must be before {latest}:00 (e.g. \"13:00-01:00\").",
    }


class OverlappingHours(FlowProblem):
    text = {
        "es": "El servicio del {day_es} termina a las {closes} del día siguiente, pero ese día abre a las {opens}.",
        "en": "The service of {day} ends at {closes} the next day, but that day opens at {opens}.",
    }
    fix = {"es": "Ajusta uno de los dos horarios para que no se encimen.", "en": "Adjust one of them so they do not overlap."}


class BadDate(FlowProblem):
    points_at_key = True
    text = {"es": "La fecha «{day}» no existe.", "en": "Date '{day}' does not exist."}
    fix = {"es": "Escríbela como año-mes-día, ej. \"2026-12-24\".", "en": "Write it as year-month-day, e.g. \"2026-12-24\"."}


def check_timezone(flows: Flows, sources: dict[str, Source]) -> Found:
    try:
        ZoneInfo(flows.hours.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zones = [z for z in available_timezones() if z.split("/")[0] in CONTINENTS]
        by_city = {z.rsplit("/", 1)[-1].replace("_", " ").lower(): z for z in zones}
        typed = flows.hours.timezone
        city = close_to(typed.rsplit("/", 1)[-1].replace("_", " ").lower(), by_city)
        suggestion = close_to(typed, zones) or (by_city[city] if city else None)
        yield "hours", problem(UnknownTimezone, file_of(sources, "hours"), ("timezone",), zone=typed, close=suggestion)


def check_hours(flows: Flows, sources: dict[str, Source]) -> Found:
    file = file_of(sources, "hours")
    raw = sources["hours"].data
    places = [(("weekly", day), raw["weekly"][day], opening) for day, opening in zip(DAYS, flows.hours.weekly)]
    places += [(("special", day), raw["special"][day], flows.hours.special[day]) for day in (raw.get("special") or {})]
    for path, text, opening in places:
        if opening is None:
            continue
        if opening.opens == opening.closes and not _all_day(text):
            yield "hours", problem(OpensAndClosesAtOnce, file, path, hours=text)
        elif opening.crosses_midnight and opening.closes.hour >= LATEST_OVERNIGHT_CLOSE and (opening.closes.hour, opening.closes.minute) != (LATEST_OVERNIGHT_CLOSE, 0):
            yield "hours", problem(ClosesBeforeOpening, file, path, hours=text, latest=f"{LATEST_OVERNIGHT_CLOSE:02d}")
    for day in (raw.get("special") or {}):
        try:
            date.fromisoformat(day)
        except ValueError:
            yield "hours", problem(BadDate, file, ("special", day), day=day)


def _all_day(text: str) -> bool:
    """``"00:00-24:00"``: open around the clock that day (a service of 24 hours)."""
    return text.replace("–", "-") == "00:00-24:00"


def check_overlaps(flows: Flows, sources: dict[str, Source]) -> Found:
    """A service past midnight must end before the next day's service starts."""
    try:
        ZoneInfo(flows.hours.timezone)
        specials = [date.fromisoformat(d) for d in flows.hours.special]
    except (ZoneInfoNotFoundError, ValueError):
        return
    monday = date(2026, 1, 5)
    days = {monday + timedelta(days=i) for i in range(7)} | {d + timedelta(days=k) for d in specials for k in (-1, 0)}
    for day in sorted(days):
        today, tomorrow = service_on(flows.hours, day), service_on(flows.hours, day + timedelta(days=1))
        if today and tomorrow and today.closes > tomorrow.opens:
            special = day.isoformat() in flows.hours.special
            path = ("special", day.isoformat()) if special else ("weekly", DAYS[day.weekday()])
            label = day.isoformat() if special else DAYS[day.weekday()]
            label_es = day.isoformat() if special else WEEKDAYS["es"][day.weekday()]
            yield "hours", problem(OverlappingHours, file_of(sources, "hours"), path, day=label, day_es=label_es, closes=today.closes.strftime("%H:%M"), opens=tomorrow.opens.strftime("%H:%M"))
