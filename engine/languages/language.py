"""What a language gives the engine: the words it understands and the phrases it builds itself.

One record, ``Language``, declared here once; each language is one instance of it (``es``,
``en``). A restaurant names its language in ``restaurant.yaml`` and may replace any of its words
there (``engine.loading.build`` makes the restaurant's own copy). Nothing here imports the rest of
the engine: the records above it (``engine.model``) hold a ``Language``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ADMIN_COMMANDS = (
    "orders", "order", "preparing", "ready", "delivered", "cancel",
    "close", "open", "sold_out", "available", "take", "release", "reply", "help",
)
"""The admin's commands, by the engine's own name for each (the words typed come from the language)."""

OPENING_PLACES = ("time", "weekday", "day", "month")
"""What an opening phrase may name between braces: "abrimos el {weekday} a las {time}"."""


@dataclass(frozen=True, slots=True)
class OpeningPhrases:
    """How the engine says when the kitchen opens next (``next_opening`` in the messages).

    Each phrase may name ``{time}``, ``{weekday}``, ``{day}`` (of the month) and ``{month}``.
    """

    today: str
    """The next service starts later today."""
    tomorrow: str
    weekday: str
    """Within the week: "abrimos el martes a las 13:00"."""
    date: str
    """A week away or more: "abrimos el 2 de enero a las 13:00"."""
    unknown: str
    """Nothing opens within a year."""


@dataclass(frozen=True, slots=True)
class Language:
    """Everything a restaurant would say or understand differently in another language.

    Word lists are written as people type them (accents, emoji); the restaurant's ``Words`` holds
    them normalised.
    """

    code: str
    """``es``, ``en``: what ``restaurant.yaml`` writes as ``language``."""
    yes: tuple[str, ...]
    no: tuple[str, ...]
    done: tuple[str, ...]
    """"That is all": the customer has finished choosing items."""
    greeting: tuple[str, ...]
    """A greeting mid-conversation: the bot asks its question again instead of not understanding."""
    filler: tuple[str, ...]
    """Words of an item's name a customer need not type ("Agua de horchata": "de")."""
    remove: tuple[str, ...]
    """A message starting with one of these takes the items it names out of the cart."""
    separators: tuple[str, ...]
    """Words between two items of one message ("2 horchatas y una coca": "y")."""
    numbers: Mapping[str, int]
    """Quantities in words: "tres" -> 3, "media docena" -> 6."""
    weekdays: tuple[str, ...]
    """Monday first, as written mid-sentence."""
    months: tuple[str, ...]
    """January first, as written mid-sentence."""
    clock: str
    """``24h`` ("13:00") or ``12h`` ("1:00 pm")."""
    day_halves: tuple[str, str]
    """Before and after noon, for the ``12h`` clock: ("am", "pm")."""
    opening: OpeningPhrases
    statuses: Mapping[str, str]
    """Stored status id (``nuevo``, ``preparando``...) -> the word shown for it."""
    admin_commands: Mapping[str, tuple[str, ...]]
    """Command (one of ``ADMIN_COMMANDS``) -> the words the admin types after ``#``."""
    apology: str
    """Said when even the flows' own ``error`` message cannot be shown."""

    def clock_text(self, hour: int, minute: int) -> str:
        """ "13:00" on a 24-hour clock, "1:00 pm" on a 12-hour one."""
        if self.clock == "12h":
            half = self.day_halves[0] if hour < 12 else self.day_halves[1]
            return f"{hour % 12 or 12}:{minute:02d} {half}"
        return f"{hour:02d}:{minute:02d}"
