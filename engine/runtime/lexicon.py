"""Every phrase the reading looks for, in one index built once per flows.

The words come from the restaurant's language (its ``Phrasebook``, as ``restaurant.yaml`` leaves
it), the menu (items, their options, the categories) and the order flow (its commands, questions,
choice steps and phone steps). Having them in one place lets the reader know that "paso" is a
word for picking up before it tries it as a typo of "pastor", and that "es todo" is two words
that finish the order before "todo" can be the option "con todo".

A phrase is found as consecutive words (``phrases``), except the phrasings of questions, whose
words may come in any order (``bag``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from engine.languages.language import INTENTS, TOPICS, WHOLE_INTENTS
from engine.model.menu import Menu
from engine.model.restaurant import Restaurant
from engine.model.steps import ChoiceStep, OrderFlow, PhoneStep
from engine.runtime.acts import Intent
from engine.runtime.understand import (
    EMOJI_WORDS,
    LIKE_KEPT,
    Phrases,
    key_tokens,
    similar,
    singular,
)

Tag = tuple[str, str]
"""What a phrase stands for: a kind (``done``, ``step``, ``choice``, ``question``...) and a value."""

_KEEP = re.compile(r"[^0-9a-zñ+\- %s]+" % "".join(EMOJI_WORDS))
_SPACES = re.compile(r"\s+")
_REPEATS = re.compile(r"([a-zñ])\1{2,}")
_MINUS = re.compile(r"(?<![0-9a-zñ])-(?=[0-9])")
_TIMES = re.compile(r"^x?([0-9]{1,6})x?$")


@lru_cache(maxsize=512)
def tokens_of(text: str) -> tuple[str, ...]:
    """The words of a text as the reading compares them: lower case, no accents (ñ kept), letters
    typed three times or more once ("siii"), punctuation gone, 👍 and its kind kept, "-" before a
    number kept as a word of its own ("-1" -> "-", "1"), "x3" and "3x" the number."""
    if not text.isascii():
        for emoji in EMOJI_WORDS:
            text = text.replace(emoji, f" {emoji} ")
        text = text.lower().replace("ñ", "\0")
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch)).replace("\0", "ñ")
    else:
        text = text.lower()
    text = _MINUS.sub(" - ", _REPEATS.sub(r"\1", text))
    words: list[str] = []
    for raw in _SPACES.sub(" ", _KEEP.sub(" ", text)).split():
        if raw == "-":
            words.append(raw)
            continue
        for part in raw.split("-"):
            if not part:
                continue
            times = _TIMES.match(part)
            words.append(times.group(1) if times and part != "x" else part)
    return tuple(words)


@dataclass(frozen=True, slots=True)
class BagPhrase:
    """A question's phrasing: all its words somewhere in the message."""

    words: frozenset[str]
    size: int
    asking_only: bool
    """Written with "?": counts only in a message worded as a question ("¿hay flan?")."""
    tags: tuple[Tag, ...]
    rank: int
    """Of two phrasings as long, the one with the lower rank wins (the flows' own first, then by topic)."""


WHOLE_WORD_KINDS = ("yes", "no", "done")
"""What a message of a single misspelt word may mean (never a command: "Marta" is a name, not "carta")."""

LISTS = {
    "polite": "polite", "unsure": "unsure", "add": "add", "more": "more", "again": "again", "change": "change",
    "instead": "instead", "into": "into", "become": "become", "rather": "rather", "only": "only",
    "without": "without", "but": "but", "only_with": "only_with", "any": "any", "all": "all", "rest": "rest",
    "each": "each", "definite": "definite", "one": "one", "pick": "pick", "about": "about", "none": "none",
    "name_intro": "name_intro", "name_here": "name_intro_here", "same_phone": "same_phone", "is": "is_",
    "minutes": "minutes", "paying": "paying", "unknown_ref": "unknown_refs",
}
"""Tag kind -> the ``Phrasebook`` list whose phrases carry it."""


class Lexicon:
    """The phrase index of one set of flows (built by ``Compiled``; never changed afterwards)."""

    def __init__(self, restaurant: Restaurant, menu: Menu, order: OrderFlow, items: Phrases) -> None:
        said, book = restaurant.words, restaurant.language.phrasebook
        self.menu = menu
        self.items = items
        """Item id -> its names as token lists (``Compiled.item_phrases``)."""
        self.filler = frozenset(t for w in said.filler for t in tokens_of(w))
        self.separators = frozenset(t for w in said.separators for t in tokens_of(w))
        listed: list[tuple[str, Tag]] = []

        def add(words: Iterable[str], kind: str, value: str = "") -> None:
            listed.extend((word, (kind, value)) for word in words)

        add(said.yes, "yes")
        add(said.no, "no")
        add(said.done, "done")
        add(said.greeting, "greeting")
        add((" ".join(r) for r in said.remove), "remove")
        for kind, field in LISTS.items():
            add(getattr(book, field), kind)
        for word, number in book.ordinals.items():
            add((word,), "ordinal", str(number))
        for name, words in book.fields.items():
            add(words, "field", name)
        for word, number in said.numbers.items():
            add((word,), "number", str(number))
        self.commands = order.commands
        declared: set[str] = set()
        for index, command in enumerate(order.commands):
            if command.intent is None:
                continue
            declared.add(command.intent)
            add((*command.words, *book.intents.get(command.intent, ())), "command", str(index))
        for intent in INTENTS:
            if intent not in declared:
                add(book.intents.get(intent, ()), "intent", intent)
        self.whole_intents = frozenset(WHOLE_INTENTS)
        for step in order.steps.values():
            if isinstance(step, ChoiceStep):
                for answer in step.choices:
                    add(answer.words, "step", f"{step.id}:{answer.id}")
            elif isinstance(step, PhoneStep):
                add(step.same_words, "same_phone")
        self.ingredients: dict[str, dict[str, str]] = {}
        """Option group -> ingredient word -> the choice that goes without it ("cebolla" -> sin_cebolla)."""
        without = {t for w in book.without for t in tokens_of(w) if len(tokens_of(w)) == 1}
        for group in menu.options.values():
            for choice in group.choices:
                add(choice.words, "choice", f"{group.id}:{choice.id}")
                for word in choice.words:
                    parts = tokens_of(word)
                    if len(parts) == 2 and parts[0] in without:
                        self.ingredients.setdefault(group.id, {})[parts[1]] = choice.id
        usual = {" ".join(tokens_of(w)) for w in book.usual}
        self.usual: dict[str, str] = {
            group.id: choice.id for group in menu.options.values() for choice in group.choices
            if usual & {" ".join(tokens_of(w)) for w in choice.words}
        }
        """Option group -> its usual choice ("normal" among its words), for options without a default."""
        self.kinds: dict[str, tuple[str, ...]] = {}
        """A word for several items ("quesadilla", "agua", "algo de tomar") -> those items."""
        for key, candidates in _kinds(restaurant, menu).items():
            self.kinds[key] = candidates
            add((key,), "kind", key)
        self.phrases: dict[str, list[tuple[tuple[str, ...], tuple[Tag, ...]]]] = {}
        """First word -> (the phrase's words, what it stands for), longest first."""
        merged: dict[tuple[str, ...], list[Tag]] = {}
        for word, tag in listed:
            words = tokens_of(word)
            if words and tag not in merged.setdefault(words, []):
                merged[words].append(tag)
        for words, tags in merged.items():
            self.phrases.setdefault(words[0], []).append((words, tuple(tags)))
        for found in self.phrases.values():
            found.sort(key=lambda pair: -len(pair[0]))
        self.singular_phrases: dict[str, list[tuple[tuple[str, ...], tuple[Tag, ...]]]] = {}
        """The same for plurals of menu and choice words ("normales"), by their singular words."""
        for words, tags in merged.items():
            menu_tags = tuple(t for t in tags if t[0] in ("choice", "step", "kind"))
            if menu_tags:
                bases = tuple(singular(w) for w in words)
                self.singular_phrases.setdefault(bases[0], []).append((bases, menu_tags))
        for found in self.singular_phrases.values():
            found.sort(key=lambda pair: -len(pair[0]))
        self.choice_words = {
            words[0]: tuple(t for t in tags if t[0] == "choice")
            for words, tags in merged.items()
            if len(words) == 1 and len(words[0]) >= 4 and any(t[0] == "choice" for t in tags)
        }
        """One-word option choices, for typos ("harna")."""
        self.word_intents = {
            words[0]: tuple(t for t in tags if t[0] in WHOLE_WORD_KINDS)
            for words, tags in merged.items()
            if len(words) == 1 and len(words[0]) >= 4 and any(t[0] in WHOLE_WORD_KINDS for t in tags)
        }
        """One-word yes, no and done: a message that is only a typo of one means it ("lsito")."""
        self._word_like: dict[str, tuple[Tag, ...]] = {}
        self.is_words = frozenset(w for words, tags in merged.items() if ("is", "") in tags for w in words)
        self.polite_words = frozenset(
            w for words, tags in merged.items() if ("polite", "") in tags or ("greeting", "") in tags for w in words
        )
        self.question_topics: dict[str, str | None] = {}
        """Tag value of a question -> its topic (``"-1:topic"`` for a topic the flows do not answer)."""
        bag: list[BagPhrase] = []
        answered: set[str] = set()
        for index, question in enumerate(order.questions):
            value = str(index)
            self.question_topics[value] = question.topic
            rank = TOPICS.index(question.topic) + 1 if question.topic in TOPICS else 0
            phrasings = [*question.words, *(book.questions.get(question.topic, ()) if question.topic else ())]
            if question.topic:
                answered.add(question.topic)
            bag.extend(_bag(phrasings, ("question", value), rank))
        for topic in TOPICS:
            if topic not in answered:
                value = f"-1:{topic}"
                self.question_topics[value] = topic
                bag.extend(_bag(book.questions.get(topic, ()), ("question", value), TOPICS.index(topic) + 1))
        self.bag = _merge_bag(bag)
        self.bag_using: dict[str, list[int]] = {}
        for position, phrase in enumerate(self.bag):
            for word in phrase.words:
                self.bag_using.setdefault(word, []).append(position)
        self.numbers = {words[0]: int(tag[1]) for words, tags in merged.items() for tag in tags
                        if tag[0] == "number" and len(words) == 1}
        self.known = frozenset(
            {w for words in merged for w in words} | {w for p in self.bag for w in p.words} | self.filler
        )
        """Every word some phrase uses: never a typo of an item, never a word left unexplained."""
        self.readings: dict[str, Any] = {}
        """Text -> its reading (``engine.runtime.reading.read`` keeps them here)."""
        self._number_like: dict[str, int | None] = {}
        self._choice_like: dict[str, tuple[Tag, ...]] = {}

    def intent_of(self, claim: Any) -> str | None:
        """The intent a claimed phrase asks for (a command's intent, or one the engine handles)."""
        for kind, value in claim.tags:
            if kind == "command":
                return self.commands[int(value)].intent or "command"
            if kind == "intent":
                return str(value)
        return None

    def intents_of(self, claim: Any, words: str) -> list[Intent]:
        found = []
        for kind, value in claim.tags:
            if kind == "command":
                command = self.commands[int(value)]
                found.append(Intent(command.intent or "command", int(value), words))
            elif kind == "intent":
                found.append(Intent(value, None, words))
        return found

    def choice_like(self, word: str) -> tuple[Tag, ...]:
        """The one-word option choices ``word`` is a small typo or a diminutive of."""
        if word not in self._choice_like:
            if len(self._choice_like) >= LIKE_KEPT:
                self._choice_like.clear()
            found: list[Tag] = []
            for known, tags in self.choice_words.items():
                if similar(word, known):
                    found.extend(t for t in tags if t not in found)
            self._choice_like[word] = tuple(found)
        return self._choice_like[word]

    def word_like(self, word: str) -> tuple[Tag, ...]:
        """What a message of one misspelt word means, when only one such word is that close."""
        if word not in self._word_like:
            if len(self._word_like) >= LIKE_KEPT:
                self._word_like.clear()
            close = [tags for known, tags in self.word_intents.items()
                     if known[0] == word[0] and len(word) >= 5 and similar(word, known)]
            self._word_like[word] = close[0] if len(close) == 1 else ()
        return self._word_like[word]

    def number_like(self, word: str) -> int | None:
        """A number word misspelt by one letter ("sinco", "dies", "dso"), when only one fits."""
        if len(word) < 3 or not word.isalpha():
            return None
        if word not in self._number_like:
            if len(self._number_like) >= LIKE_KEPT:
                self._number_like.clear()
            values = {n for known, n in self.numbers.items() if len(known) >= 3 and _one_edit(word, known)}
            self._number_like[word] = values.pop() if len(values) == 1 else None
        return self._number_like[word]

    def without_ingredient(self, word: str, only_with: bool = False) -> tuple[str, str] | None:
        """The choice that leaves ``word`` out ("cebolla" -> sin_cebolla); with ``only_with``, the one
        that leaves out everything else ("nomás con cebolla" -> sin_cilantro)."""
        for group, ingredients in self.ingredients.items():
            known = word if word in ingredients else singular(word) if singular(word) in ingredients else None
            if known is None:
                continue
            if not only_with:
                return group, ingredients[known]
            others = [choice for ingredient, choice in ingredients.items() if ingredient != known]
            return (group, others[0]) if len(others) == 1 else None
        return None


def _one_edit(a: str, b: str) -> bool:
    """One letter added, dropped, changed, or two swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return len(a) > 3
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return len(short) >= 3 and any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _bag(phrasings: Iterable[str], tag: Tag, rank: int) -> list[BagPhrase]:
    found = []
    for phrasing in phrasings:
        words = tokens_of(phrasing)
        if words:
            found.append(BagPhrase(frozenset(words), len(set(words)), phrasing.rstrip().endswith("?"), (tag,), rank))
    return found


def _merge_bag(phrases: list[BagPhrase]) -> tuple[BagPhrase, ...]:
    """The same words in several questions ("cuánto es": a price or the total) become one phrase with both tags."""
    by_words: dict[tuple[frozenset[str], bool], BagPhrase] = {}
    for phrase in phrases:
        key = (phrase.words, phrase.asking_only)
        known = by_words.get(key)
        if known is None:
            by_words[key] = phrase
        elif phrase.tags[0] not in known.tags:
            first, second = (known, phrase) if known.rank <= phrase.rank else (phrase, known)
            by_words[key] = BagPhrase(phrase.words, phrase.size, phrase.asking_only, first.tags + second.tags, first.rank)
    return tuple(by_words.values())


def _kinds(restaurant: Restaurant, menu: Menu) -> dict[str, tuple[str, ...]]:
    """Words naming several items: a category's name and words, and a word shared by item names."""
    ignored = restaurant.words.filler
    shared: dict[str, list[str]] = {}
    for item in menu.items.values():
        for word in dict.fromkeys(singular(t) for t in key_tokens(item.name, ignored)):
            if not word.isdigit():
                shared.setdefault(word, []).append(item.id)
    kinds = {word: tuple(ids) for word, ids in shared.items() if len(ids) > 1}
    for category in menu.categories:
        members = tuple(item.id for item in category.items)
        if len(members) < 2:
            continue
        for word in category.words:
            kinds[" ".join(tokens_of(word))] = members
        for word in (singular(t) for t in key_tokens(category.name, ignored)):
            inside = tuple(i for i in kinds.get(word, ()) if i in members)
            kinds[word] = inside if len(inside) > 1 else kinds.get(word, members)
    return kinds
