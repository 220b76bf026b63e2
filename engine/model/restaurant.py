"""The flows as immutable typed records: what the loader builds once the files passed every check.

One small dataclass per concept and per step kind. Nothing here reads files: see ``loader``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine.languages.language import Language

# ---------------------------------------------------------------- restaurant


@dataclass(frozen=True, slots=True)
class DeliveryTerms:
    fee: int
    """Delivery fee, in the restaurant's money (see ``Money``)."""
    free_from: int
    """Subtotal from which delivery is free."""
    minimum: int
    """Smallest subtotal (before the fee) accepted for delivery."""


@dataclass(frozen=True, slots=True)
class Money:
    """How amounts are written: every amount of the flows is a whole number of the smallest unit shown."""

    symbol: str = "$"
    symbol_after: bool = False
    """False: "$1,234"; True: "1.234 €" (after the amount, a space between)."""
    thousands: str = ","
    """Between groups of three digits; "" for none."""
    decimal: str = "."
    decimals: int = 0
    """0: amounts are whole ("$96"); 2: the last two digits are cents (1250 is "$12.50")."""


@dataclass(frozen=True, slots=True)
class Words:
    """Words the bot understands, already normalised (lower case, no accents)."""

    yes: frozenset[str]
    no: frozenset[str]
    done: frozenset[str]
    greeting: frozenset[str]
    """"hola" mid-conversation: the bot repeats its question instead of not understanding."""
    filler: frozenset[str]
    """Words of item names the customer need not type."""
    remove: tuple[tuple[str, ...], ...]
    """Phrases that start a removal ("quitar", "sin el"), as tokens, longest first."""
    separators: frozenset[str]
    """Words between two items of one message ("y")."""
    numbers: Mapping[str, int]
    """Quantities in words ("tres" -> 3, "media docena" -> 6)."""
    admin: Mapping[str, str]
    """What the admin types after ``#`` -> the command (one of ``languages.ADMIN_COMMANDS``)."""


@dataclass(frozen=True, slots=True)
class Restaurant:
    name: str
    phone: str
    country: str
    """ISO region used to read phone numbers written without a country code."""
    currency: str
    """ISO 4217 code ("MXN")."""
    money: Money
    language: Language
    """The restaurant's language, with the words its ``restaurant.yaml`` replaces."""
    delivery: DeliveryTerms
    estimated_minutes: dict[str, str]
    """``pickup`` / ``delivery`` -> "25–35"."""
    session_minutes: int
    handover_minutes: int
    words: Words
    address: str | None = None
    """Where the restaurant is, for customers who ask; None: only the phone is given."""
