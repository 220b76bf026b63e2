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

INTENTS = ("menu", "cart", "help", "cancel", "handover", "opt_out", "wait", "start", "more")
"""What a customer may ask for at any moment, by the engine's own name for each: a command of the
flows names one (``intent: menu``) to be found inside a sentence with the language's phrases."""

COMMAND_INTENTS = ("menu", "cart", "help", "cancel", "handover", "opt_out", "wait")
"""Intents a command of the flows may name (``intent: menu``); the others the engine handles itself."""
OWN_INTENTS = ("start", "more")
"""Intents the engine handles itself: "quiero hacer un pedido" (what can I serve?), "quiero agregar
algo" (back to taking items); ``restaurant.yaml`` may replace their phrases (``words: {more: …}``)."""

WHOLE_INTENTS = ("opt_out",)
"""Intents understood only as the whole message (with politeness around it): "stop" inside a
sentence is not a request to stop."""

TOPICS = ("hours", "delivery", "payment", "waiting", "where", "item", "total")
"""What a customer may ask about, by the engine's own name for each: a question of the flows names
one (``topic: hours``) to be recognised with the language's phrasings. Earlier topics win a tie
("¿cuánto es el envío?" is about delivery, not the total)."""

FIELDS = ("name", "address", "contact")
"""Answers a customer may correct by naming them ("el nombre es Ana")."""


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
class Phrasebook:
    """The phrases the reading of a message looks for, besides the menu and the flows' own words.

    Each list holds phrases as people type them; the reading compares them normalised (no accents,
    lower case) and word by word. A restaurant may replace any list in ``restaurant.yaml``.
    """

    polite: tuple[str, ...]
    """Said to be nice and meaning nothing more: "gracias", "porfa", "jefe"."""
    unsure: tuple[str, ...]
    """"I don't know": neither a yes nor a no ("no sé", "quién sabe")."""
    intents: Mapping[str, tuple[str, ...]]
    """Intent (one of ``INTENTS``) -> phrases that ask for it inside any sentence."""
    questions: Mapping[str, tuple[str, ...]]
    """Topic (one of ``TOPICS``) -> phrasings: the words of each must all be there, in any order."""
    add: tuple[str, ...]
    """Adding explicitly: "agrégale", "ponle", "también"."""
    more: tuple[str, ...]
    """After a number, more of what is there: "2 más"."""
    again: tuple[str, ...]
    """One more of the same: "otra", "una más"."""
    change: tuple[str, ...]
    """Replacing a line: "cambia" ("cambia la torta por una gringa")."""
    instead: tuple[str, ...]
    """"en vez de": what follows is what goes away."""
    into: tuple[str, ...]
    """"por" in "cambia X por Y": what follows is what comes in."""
    become: tuple[str, ...]
    """What a line is to be: "que sean 4", "eran de suadero", "dije bistec"."""
    rather: tuple[str, ...]
    """A change of mind or a correction of what was just said: "mejor", "perdón", "me equivoqué"."""
    only: tuple[str, ...]
    """Next to a number, that many and no more: "2 nada más", "nomás 2"."""
    without: tuple[str, ...]
    """Without an ingredient, or an item taken out: "sin", "que no lleve", "no le pongas"."""
    but: tuple[str, ...]
    """An exception: "con todo menos cebolla"."""
    only_with: tuple[str, ...]
    """Only these ingredients, so without the others: "nomás con cebolla"."""
    any: tuple[str, ...]
    """Any choice will do: "la que sea", "cualquiera" (the default, when the option has one)."""
    usual: tuple[str, ...]
    """Words for the usual choice: the choice of an option that has one of them among its words is
    what "la que sea" or "listo" picks when the option has no default ("normal": maíz)."""
    all: tuple[str, ...]
    """All of them: "todos de harina"."""
    rest: tuple[str, ...]
    """The others of a line being split: "2 de harina y los demás de maíz"."""
    each: tuple[str, ...]
    """One of each: "una de cada una"."""
    definite: tuple[str, ...]
    """Articles that point at something already ordered: "los de pastor sin cebolla"."""
    one: tuple[str, ...]
    """Articles that mean one of an item: "la orden de 5" is one order."""
    ordinals: Mapping[str, int]
    """Choices by position: "la segunda" -> 2."""
    pick: tuple[str, ...]
    """Before a number that picks a choice by position: "la 2", "opción 2"."""
    about: tuple[str, ...]
    """Before a number, roughly that many: "unos 4", "como 3"."""
    none: tuple[str, ...]
    """A quantity of nothing: "ninguno"."""
    name_intro: tuple[str, ...]
    """Before the customer's name, at any question: "me llamo", "a nombre de", "soy"."""
    name_intro_here: tuple[str, ...]
    """Before the name only when the bot has just asked for it: "para Luis"."""
    same_phone: tuple[str, ...]
    """The WhatsApp number itself as the contact: "este", "al de WhatsApp"."""
    fields: Mapping[str, tuple[str, ...]]
    """Answer (one of ``FIELDS``) -> the words that name it in a correction ("el nombre es Ana")."""
    is_: tuple[str, ...]
    """Between a field and its new value: "es"."""
    minutes: tuple[str, ...]
    """After a number that counts time, not items: "paso en 20 minutos"."""
    paying: tuple[str, ...]
    """Before an amount of money, not a quantity: "pago con 500"."""
    unknown_refs: tuple[str, ...]
    """Something the bot cannot know: "la misma de siempre"."""


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
    phrasebook: Phrasebook
    """What the reading of a message looks for: intents, questions, edits, options, contacts."""

    def clock_text(self, hour: int, minute: int) -> str:
        """ "13:00" on a 24-hour clock, "1:00 pm" on a 12-hour one."""
        if self.clock == "12h":
            half = self.day_halves[0] if hour < 12 else self.day_halves[1]
            return f"{hour % 12 or 12}:{minute:02d} {half}"
        return f"{hour:02d}:{minute:02d}"
