"""Reading what customers really type: case, accents, typos, numbers in words, emoji.

Pure functions over normalised text. The words themselves (yes, no, numbers, item names,
choices) come from the restaurant's language and its flows: nothing here belongs to a language.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

EMOJI_WORDS = ("👍", "👌", "✅", "👎", "❌")
"""Emoji that answer yes or no: kept as words of their own, the same in every language."""

_KEEP = re.compile(r"[^0-9a-zñ+ %s]+" % "".join(EMOJI_WORDS))
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=256)
def normalise(text: str) -> str:
    """Lower case, no accents (ñ kept), punctuation and emoji gone but 👍 and its kind, single spaces.

    Cached (a few entries): one turn reads the same message several times (a command? a yes? a
    number?).
    """
    if not text.isascii():  # plain ASCII has no emoji, accents or ñ: lower case is enough
        for emoji in EMOJI_WORDS:
            text = text.replace(emoji, f" {emoji} ")
        text = text.lower().replace("ñ", "\0")
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch)).replace("\0", "ñ")
    else:
        text = text.lower()
    return _SPACES.sub(" ", _KEEP.sub(" ", text)).strip()


def words_of(phrases: Iterable[str]) -> frozenset[str]:
    return frozenset(normalise(p) for p in phrases if normalise(p))


def singular(token: str) -> str:
    """Good enough for menus: "pizzas" -> "pizza", "empanadas" -> "empanada", "champiñones" -> "champiñon"."""
    if len(token) > 4 and token.endswith("es") and token[-3] in "nrdlsz":
        return token[:-2]
    if len(token) > 3 and token.endswith("s"):
        return token[:-1]
    return token


@lru_cache(maxsize=65536)
def similar(a: str, b: str) -> bool:
    """Same word, plural, or a small typo ("margarita" for "margherita") on words long enough to tell."""
    if a == b or singular(a) == singular(b):
        return True
    if a.isdigit() or b.isdigit() or min(len(a), len(b)) < 4:
        return False
    matcher = SequenceMatcher(None, a, b)
    # The cheap upper bounds first: most pairs of words are nothing alike.
    return matcher.real_quick_ratio() >= 0.8 and matcher.quick_ratio() >= 0.8 and matcher.ratio() >= 0.8


def parse_number(text: str, numbers: Mapping[str, int]) -> int | None:
    """ "3", "tres", "3 pizzas" -> 3 (``numbers``: the language's number words, normalised); None
    when the text holds no single quantity."""
    norm = normalise(text)
    if norm in numbers:
        return numbers[norm]
    found = [n for n in (number_token(t, numbers) for t in norm.split()) if n is not None]
    return found[0] if len(found) == 1 else None


def number_token(token: str, numbers: Mapping[str, int]) -> int | None:
    if token.isdigit() and len(token) <= 6:
        return int(token)
    return numbers.get(token)


def is_bare_number(norm: str, numbers: Mapping[str, int]) -> bool:
    """The whole (normalised) message is one number: "2", "dos" — a pick from a numbered list."""
    return norm.isdigit() or norm in numbers


def is_one_of(text: str, phrases: frozenset[str]) -> bool:
    """The whole message is one of ``phrases`` (already normalised), allowing small typos."""
    norm = normalise(text)
    if norm in phrases:
        return True
    return len(norm) >= 4 and any(len(p) >= 4 and similar(norm, p) for p in phrases if " " not in p)


@dataclass(frozen=True, slots=True)
class Match:
    """Which of several named things a message names."""

    key: str
    """What was matched (an item id, a choice id)."""
    used: frozenset[int]
    """Token positions the match consumed."""
    score: int
    """How many tokens matched: longer names win over shorter ones."""


def find_phrase(tokens: list[str], phrase: list[str]) -> frozenset[int] | None:
    """Positions of ``phrase``'s tokens in ``tokens`` (in any order), or None if one is missing."""
    used: set[int] = set()
    for word in phrase:
        spot = next((i for i, t in enumerate(tokens) if i not in used and similar(t, word)), None)
        if spot is None:
            return None
        used.add(spot)
    return frozenset(used)


LIKE_KEPT = 4096
"""Message words whose look-alikes each ``Phrases`` remembers (then it starts afresh)."""


class Phrases(dict[str, list[list[str]]]):
    """Key -> the token lists that name it, plus which of their words a message's word is like.

    Built once per flows (see ``engine.compiled``) and never changed afterwards. Customers use
    few words, so remembering each one's look-alikes lets ``best_matches`` try only the phrases
    whose every word is like some word of the message, instead of all of them.
    """

    def __init__(self, names: dict[str, list[list[str]]]) -> None:
        super().__init__(names)
        self.keys_using: dict[str, set[str]] = {}
        """Word -> the keys with a phrase that has it."""
        for key, phrases in self.items():
            for word in (word for phrase in phrases for word in phrase):
                self.keys_using.setdefault(word, set()).add(key)
        self.words = frozenset(self.keys_using)
        self._like: dict[str, frozenset[str]] = {}

    def like(self, token: str) -> frozenset[str]:
        """The phrases' words ``token`` may stand for: itself, a plural, a small typo ("pastro")."""
        found = self._like.get(token)
        if found is None:
            if len(self._like) >= LIKE_KEPT:
                self._like.clear()
            found = self._like[token] = frozenset(word for word in self.words if similar(token, word))
        return found


def best_matches(tokens: list[str], names: dict[str, list[list[str]]]) -> list[Match]:
    """Every key with a phrase whose tokens all appear, best (longest) first, without overlap."""
    phrases_of = names if isinstance(names, Phrases) else Phrases(names)
    seen: set[str] = set()
    for token in tokens:
        seen.update(phrases_of.like(token))
    plausible = set().union(*(phrases_of.keys_using[word] for word in seen))
    candidates: list[Match] = []
    for key, phrases in phrases_of.items():
        if key not in plausible:
            continue
        best: Match | None = None
        for phrase in phrases:
            # A phrase with a word like none of the tokens cannot be found: skip the search.
            used = find_phrase(tokens, phrase) if phrase and seen.issuperset(phrase) else None
            if used is not None and (best is None or len(phrase) > best.score):
                best = Match(key, used, len(phrase))
        if best:
            candidates.append(best)
    candidates.sort(key=lambda m: -m.score)
    chosen: list[Match] = []
    for match in candidates:
        if not any(match.used & c.used for c in chosen):
            chosen.append(match)
    return chosen


def key_tokens(phrase: str, ignored: frozenset[str]) -> list[str]:
    """The tokens of a name worth matching: "Pizza de champiñones" -> ["champiñones"] when "pizza"
    and "de" are ``ignored`` (filler words and the menu's common words, normalised)."""
    tokens = normalise(re.sub(r"\(.*?\)", " ", phrase)).split()  # "(500 ml)" is not a name
    meaningful = [t for t in tokens if t not in ignored]
    return meaningful or tokens


def closest(text: str, candidates: dict[str, str], limit: int = 2) -> list[str]:
    """Names of the candidates most like ``text`` (for "¿quisiste decir ...?")."""
    norm = normalise(text)
    if len(norm) < 4:
        return []
    scored = sorted(
        ((SequenceMatcher(None, norm, normalise(k)).ratio(), name) for k, name in candidates.items()),
        reverse=True,
    )
    return list(dict.fromkeys(name for ratio, name in scored if ratio >= 0.72))[:limit]
