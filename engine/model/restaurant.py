"""The flows as immutable typed records: what the loader builds once the files passed every check.

One small dataclass per concept and per step kind. Nothing here reads files: see ``loader``.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------- restaurant


@dataclass(frozen=True, slots=True)
class DeliveryTerms:
    fee: int
    """Delivery fee in pesos."""
    free_from: int
    """Subtotal from which delivery is free."""
    minimum: int
    """Smallest subtotal (before the fee) accepted for delivery."""


@dataclass(frozen=True, slots=True)
class Words:
    """Words the bot understands, already normalised (lower case, no accents)."""

    yes: frozenset[str]
    no: frozenset[str]
    done: frozenset[str]
    greeting: frozenset[str] = frozenset()
    """"hola" mid-conversation: the bot repeats its question instead of not understanding."""


@dataclass(frozen=True, slots=True)
class Restaurant:
    name: str
    phone: str
    country: str
    """ISO region used to read phone numbers written without a country code."""
    currency: str
    language: str
    delivery: DeliveryTerms
    estimated_minutes: dict[str, str]
    """``pickup`` / ``delivery`` -> "25–35"."""
    session_minutes: int
    handover_minutes: int
    words: Words
