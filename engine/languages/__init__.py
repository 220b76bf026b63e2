"""The languages a restaurant can speak: one module per language, each one ``Language`` record."""

from __future__ import annotations

from engine.languages.en import EN
from engine.languages.es import ES
from engine.languages.language import Language

LANGUAGES: dict[str, Language] = {language.code: language for language in (ES, EN)}
"""Every language by its code, as ``restaurant.yaml`` names it."""
DEFAULT_LANGUAGE = ES
"""When ``restaurant.yaml`` names none."""
