"""Reading a message once, whatever the step: ``read(lexicon, text) -> Reading``.

The message is cut into chunks (at commas and question marks) and each chunk into segments (at
"y", "pero"): "sí, pero sin la horchata" is two chunks, the second a segment of its own. In each
segment the phrases of the ``Lexicon`` claim the words they cover, longest first ("es todo"
before "todo"); the menu's items are then found in what is left (typos allowed there only, so a
word of another kind is never taken for an item: "paso" is not "pastor"), and what the claims say
together becomes acts: "quita una horchata" is ``Remove(horchata, 1)``, "3 con harina" is
``Choose(harina, 3)``. Pure and deterministic; the last few hundred readings are remembered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.runtime import acts as a
from engine.runtime.lexicon import Lexicon, Tag, tokens_of
from engine.runtime.understand import best_matches, singular

READINGS_KEPT = 2048
"""Readings each lexicon remembers (then it starts afresh): "sí", "listo" and "2" come back often."""
_CUT = re.compile(r"([,;\n!¡?¿]+)")
PHONE_DIGITS = 8
"""Digits from which a number written in groups is a phone number, not a quantity."""
CONTENT_FREE = frozenset({"polite", "greeting", "definite", "one", "pick", "is", "into", "about"})
"""Claims that say nothing by themselves."""


def read(lexicon: Lexicon, text: str) -> a.Reading:
    cache = lexicon.readings
    found = cache.get(text)
    if found is None:
        if len(cache) >= READINGS_KEPT:
            cache.clear()
        found = cache[text] = _read(lexicon, text.strip())
    return found


def _read(lexicon: Lexicon, text: str) -> a.Reading:
    found: list[a.Act] = []
    leftover: list[str] = []
    chunks: list[str] = []
    free: list[str] = []
    asking_any = "?" in text or "¿" in text
    rather = False
    greeting = False
    cut = _chunks(text)
    for number, (chunk, asking) in enumerate(cut):
        chunks.append(chunk)
        words = tokens_of(chunk)
        segments = _segments(words, lexicon.separators)
        chunk_acts: list[a.Act] = []
        chunk_left: list[str] = []
        for index, (segment, joined) in enumerate(segments):
            reader = _Segment(lexicon, segment, asking, index == 0, joined, chunk)
            chunk_acts.extend(reader.acts())
            chunk_left.extend(reader.leftover())
            greeting = greeting or reader.has("greeting")
            if number == 0 and index == 0 and reader.starts_rather():
                rather = True
        if number == 0 and _lone_no(chunk_acts) and len(cut) > 1:
            rather = True
        last = found[-1] if found else None
        fixing = next((i for i in range(len(found) - 1, -1, -1) if isinstance(found[i], a.Correct)), None)
        if (fixing is not None and chunk_left and all(isinstance(x, a.Number) for x in chunk_acts)
                and isinstance(fixed := found[fixing], a.Correct) and fixed.value and fixed.field == "address"):
            # "la dirección es Calle Colima 32, Roma": an address goes on past its commas
            found[fixing] = a.Correct(fixed.field, f"{fixed.value}, {chunk}", f"{fixed.words} {' '.join(words)}")
            continue
        if isinstance(last, a.Correct) and not last.value and all(isinstance(x, (a.Phone, a.Number)) for x in chunk_acts):
            # "el nombre está mal, es Anahí": the new value comes in the next part
            value = _after(chunk, words, 1 if words and words[0] in lexicon.is_words else 0, lexicon)
            found[-1] = a.Correct(last.field, value, f"{last.words} {' '.join(words)}")
            chunk_acts, chunk_left = [], []
        if chunk_acts and isinstance(chunk_acts[0], a.YesNo) and not chunk_acts[0].value and any(
            isinstance(x, (a.Correct, a.SetQuantity, a.Replace, a.Remove, a.More, a.AddLine, a.Choose)) for x in found
        ):
            # "eran 2, no 3", "Durango 14, no 12": what it was, not a no
            chunk_acts = [x for x in chunk_acts[1:] if not isinstance(x, a.Number)]
        found.extend(chunk_acts)
        leftover.extend(chunk_left)
        if chunk_left and all(isinstance(x, (a.Number, a.Pick)) for x in chunk_acts):
            free.append(_without_politeness(lexicon, chunk))  # "Calle 5 de Mayo", "Fiesta de Juan": words of their own
    return a.Reading(
        text=text,
        acts=tuple(_merge(found)),
        asking=asking_any,
        rather=rather,
        leftover=tuple(leftover),
        chunks=tuple(chunks),
        free=tuple(f for f in free if f),
        greeting=greeting,
    )


def _chunks(text: str) -> list[tuple[str, bool]]:
    """The message cut at commas and question marks, each with whether it was asked ("¿…?")."""
    parts = _CUT.split(text)
    found = []
    for index in range(0, len(parts), 2):
        chunk = parts[index].strip()
        before = parts[index - 1] if index else ""
        after = parts[index + 1] if index + 1 < len(parts) else ""
        if chunk:
            found.append((chunk, "¿" in before or "?" in after))
    return found


def _segments(words: tuple[str, ...], separators: frozenset[str]) -> list[tuple[tuple[str, ...], bool]]:
    """Words cut at "y"/"pero"; each with whether a separator came before it (a thing added)."""
    found: list[tuple[tuple[str, ...], bool]] = []
    current: list[str] = []
    joined = False
    for word in words:
        if word in separators:
            if current:
                found.append((tuple(current), joined))
            current, joined = [], True
        else:
            current.append(word)
    if current:
        found.append((tuple(current), joined))
    return found


def _lone_no(found: list[a.Act]) -> bool:
    return len(found) == 1 and isinstance(found[0], a.YesNo) and not found[0].value


def _without_politeness(lexicon: Lexicon, chunk: str) -> str:
    """A chunk as typed, without the polite words at its ends ("Roberto gracias" -> "Roberto")."""
    words = chunk.split()
    polite = lexicon.polite_words
    while words and _polite(words[-1], polite):
        words.pop()
    while words and _polite(words[0], polite):
        words.pop(0)
    return " ".join(words)


def _polite(word: str, polite: frozenset[str]) -> bool:
    """A typed word that is only politeness ("gracias,"); punctuation alone is not."""
    found = tokens_of(word)
    return bool(found) and all(t in polite for t in found)


def _merge(found: list[a.Act]) -> list[a.Act]:
    """Acts a later part completes: "en vez de horchata, jamaica" is one replacement."""
    merged: list[a.Act] = []
    for act in found:
        last = merged[-1] if merged else None
        if isinstance(last, a.Replace) and last.item is None and not last.candidates:
            if isinstance(act, a.AddLine):
                merged[-1] = a.Replace(last.ref, act.item, (), act.quantity, act.options, f"{last.words} {act.words}")
                continue
            if isinstance(act, a.Unsure):
                merged[-1] = a.Replace(last.ref, None, act.candidates, act.quantity, act.options, f"{last.words} {act.words}")
                continue
            if isinstance(act, a.Replace) and not act.ref.said:
                merged[-1] = a.Replace(last.ref, act.item, act.candidates, act.quantity, act.options,
                                       f"{last.words} {act.words}")
                continue
        merged.append(act)
    return merged


# ---------------------------------------------------------------- one segment


@dataclass(slots=True)
class Claim:
    """Words a phrase covers, and what it stands for (several things when they are the same words)."""

    positions: frozenset[int]
    start: int
    size: int
    exact: bool
    rank: int
    tags: list[Tag]
    _kinds: frozenset[str] | None = None
    _seen: int = -1

    def kinds(self) -> frozenset[str]:
        if self._kinds is None or self._seen != len(self.tags):  # tags only grow, or are replaced
            self._kinds, self._seen = frozenset(tag[0] for tag in self.tags), len(self.tags)
        return self._kinds

    def values(self, kind: str) -> list[str]:
        return [tag[1] for tag in self.tags if tag[0] == kind]


@dataclass(slots=True)
class Hit:
    """An item (or a general word for several) found in the segment."""

    item: str | None
    candidates: tuple[str, ...]
    positions: frozenset[int]
    start: int
    quantity: int | None = None
    options: dict[str, str] = field(default_factory=dict)
    quantity_at: int | None = None
    """Where its quantity was said."""
    implied: bool = False
    """The quantity is only an article's ("la torta"): one to add, nothing to take away."""


class _Segment:
    """One segment's words, what claims them, and the acts they make."""

    def __init__(self, lexicon: Lexicon, words: tuple[str, ...], asking: bool, first: bool, joined: bool,
                 chunk: str) -> None:
        self.lex = lexicon
        self.words = words
        self.text = " ".join(words)
        self.asking = asking
        self.first = first
        self.joined = joined
        self.chunk = chunk
        self._firsts: dict[str, Claim] | None = None
        self._kindset: frozenset[str] | None = None
        self._kindset_of: dict[str, Claim] | None = None
        self.claims = self._claim()
        self.at: dict[int, Claim] = {p: c for c in self.claims for p in c.positions}
        self.hits = self._items()
        self._fuzzy_choices()
        self.numbers = self._numbers()
        self.negations: dict[int, tuple[str, str] | None] = {}
        self.removed: list[Hit] = []
        self._negate()

    # ------------------------------------------------------------ claiming

    def _claim(self) -> list[Claim]:
        words, lex = self.words, self.lex
        found: list[Claim] = []
        for start, word in enumerate(words):
            for phrase, tags in lex.phrases.get(word, ()):
                size = len(phrase)
                if words[start : start + size] == phrase:
                    found.append(Claim(frozenset(range(start, start + size)), start, size, True, 1, list(tags)))
            base = singular(word)
            if base != word:
                for phrase, tags in lex.singular_phrases.get(base, ()):
                    size = len(phrase)
                    if tuple(singular(w) for w in words[start : start + size]) == phrase:
                        found.append(Claim(frozenset(range(start, start + size)), start, size, False, 1, list(tags)))
        editing = not self.asking and any(t[0] in ("change", "add", "remove") for c in found for t in c.tags)
        present = set() if editing else set(words)  # "quiero cambiar cómo pago" asks for a change, not how to pay
        seen: set[int] = set()
        for word in present:
            seen.update(lex.bag_using.get(word, ()))
        for position in seen:
            asked = lex.bag[position]
            if asked.words <= present and (self.asking or not asked.asking_only):
                spots = frozenset(words.index(w) for w in asked.words)
                found.append(Claim(spots, min(spots), asked.size, True, 0 if asked.size > 1 or self.asking else 2,
                                   list(asked.tags)))
        found.sort(key=lambda c: (-c.size, not c.exact, c.rank, c.start))
        taken: dict[int, Claim] = {}
        chosen: list[Claim] = []
        for claim in found:
            overlap = {id(taken[p]): taken[p] for p in claim.positions if p in taken}
            if not overlap:
                chosen.append(claim)
                taken.update((p, claim) for p in claim.positions)
                continue
            if len(overlap) == 1:
                other = next(iter(overlap.values()))
                if other.positions == claim.positions and other.size == claim.size and other.exact == claim.exact:
                    other.tags.extend(t for t in claim.tags if t not in other.tags)
        chosen.sort(key=lambda c: c.start)
        return chosen

    def _items(self) -> list[Hit]:
        """Items in the words no other phrase claimed (choices, numbers and general words may be part of a name)."""
        lex, words = self.lex, self.words
        shareable = {"choice", "number", "kind", "definite", "one", "pick"}
        masked = [w if p not in self.at or self.at[p].kinds() <= shareable else "\0" for p, w in enumerate(words)]
        hits: list[Hit] = []
        for match in best_matches(masked, lex.items):
            exact_words = {w for phrase in lex.items[match.key] for w in phrase}
            fuzzy = [p for p in match.used if singular(words[p]) not in exact_words and words[p] not in exact_words]
            if any(words[p] in lex.known for p in fuzzy):
                continue  # a word of another kind is never a typo of an item
            hits.append(Hit(match.key, (), match.used, min(match.used)))
        used = {p for hit in hits for p in hit.positions}
        named = {hit.item for hit in hits}
        for claim in self.claims:
            for key in claim.values("kind"):
                # "tacos al pastor": the general word is the item's own, not a question of which.
                if not claim.positions & used and not named & set(lex.kinds[key]):
                    hits.append(Hit(None, lex.kinds[key], claim.positions, claim.start))
                    used |= claim.positions
        for claim in self.claims:  # what an item's name used is the item's, not a claim of its own
            if claim.positions & used and claim.kinds() <= shareable:
                claim.tags = [t for t in claim.tags if t[0] == "choice"]
                claim._kinds = None
                self._firsts = None
        hits.sort(key=lambda h: h.start)
        return hits

    def _fuzzy_choices(self) -> None:
        """A typo or a diminutive of a one-word choice ("todito", "harna") among the words left; a
        message of one misspelt word that can only be one yes, no, "listo" or command ("lsito")."""
        taken = {p for h in self.hits for p in h.positions}
        if len(self.words) == 1 and not self.claims and not taken and self.words[0] not in self.lex.known:
            tags = self.lex.word_like(self.words[0])
            if tags:
                claim = Claim(frozenset({0}), 0, 1, False, 1, list(tags))
                self.claims.append(claim)
                self.at[0] = claim
                self._firsts = None
                return
        for position, word in enumerate(self.words):
            if position in self.at or position in taken or word in self.lex.known or len(word) < 4:
                continue
            tags = self.lex.choice_like(word)
            if tags:
                claim = Claim(frozenset({position}), position, 1, False, 1, list(tags))
                self.claims.append(claim)
                self.at[position] = claim
                self._firsts = None
        self.claims.sort(key=lambda c: c.start)

    def _numbers(self) -> dict[int, int]:
        """Quantities said in the segment, by position (not the digits inside an item's name)."""
        inside = {p for hit in self.hits if hit.item for p in hit.positions}
        found: dict[int, int] = {}
        for position, word in enumerate(self.words):
            if position in inside:
                continue
            claim = self.at.get(position)
            if word.isdigit() and len(word) <= 6 and claim is None:
                found[position] = int(word)
            elif claim is not None and claim.start == position and claim.values("number"):
                if not claim.kinds() - {"number", "choice", "kind", "definite", "pick", "one"} or len(claim.tags) == 1:
                    found[position] = int(claim.values("number")[0])
            elif claim is None and word not in self.lex.known and not any(position >= min(h.positions) for h in self.hits):
                guess = self.lex.number_like(word)  # "sinco gringas"; but "coca light" is no eight
                if guess is not None:
                    found[position] = guess
        return found

    # ------------------------------------------------------------ what words mean together

    def kinds_at(self, position: int) -> frozenset[str]:
        claim = self.at.get(position)
        return claim.kinds() if claim else frozenset()

    def has(self, kind: str) -> bool:
        return self.first_of(kind) is not None

    def first_of(self, kind: str) -> Claim | None:
        if self._firsts is None:
            firsts: dict[str, Claim] = {}
            for claim in self.claims:
                for each in claim.kinds():
                    firsts.setdefault(each, claim)
            self._firsts = firsts
        return self._firsts.get(kind)

    def starts_rather(self) -> bool:
        claim = self._first_content()
        return claim is not None and bool(claim.kinds() & {"rather", "become"})

    def _first_content(self) -> Claim | None:
        for position in range(len(self.words)):
            claim = self.at.get(position)
            if claim is None:
                if self.words[position] in self.lex.filler:
                    continue
                return None
            if claim.kinds() <= {"polite", "greeting"}:
                continue
            return claim
        return None

    def _next_content(self, after: int) -> int | None:
        for position in range(after + 1, len(self.words)):
            small = self.words[position] in self.lex.filler or self.kinds_at(position) & {"definite", "one"}
            if (small or position in self.numbers) and not any(position in h.positions for h in self.hits):
                continue
            return position
        return None

    def kindset(self) -> frozenset[str]:
        """Every kind of phrase the segment holds."""
        if self._firsts is None:
            self.first_of("")
        assert self._firsts is not None
        if self._kindset is None or self._kindset_of is not self._firsts:
            self._kindset, self._kindset_of = frozenset(self._firsts), self._firsts
        return self._kindset

    def _negate(self) -> None:
        """"sin"/"menos"/"nomás con" and the word after them: an ingredient left out, or an item taken out."""
        if not self.kindset() & {"without", "but", "only_with", "remove", "command"}:
            return
        for claim in self.claims:
            kinds = claim.kinds()
            if self.lex.intent_of(claim) == "cancel":
                kinds = kinds | {"remove"}  # "cancela la torta": the torta, not the order
            if not kinds & {"without", "but", "only_with", "remove"} or kinds & {"choice"}:
                continue
            after = self._next_content(max(claim.positions))
            hit = next((h for h in self.hits if after is not None and after in h.positions), None)
            if hit is not None and kinds & {"without", "remove", "but"}:
                self.removed.append(hit)
                continue
            if "remove" in kinds and "without" not in kinds:
                continue
            if after is None:
                continue  # "no" alone, "ya no quiero": nothing left out (a no, a cancel)
            word = self.words[after]
            choice = self.lex.without_ingredient(word, only_with="only_with" in kinds)
            if choice is None and after in self.at:  # "sin nada": not "nada" that finishes, but something to ask
                self.at[after].tags = [("negated", "")]
                self.at[after]._kinds = None
                self._firsts = None
            self.negations[claim.start] = choice
            if after is not None and choice is not None:
                self.negations[after] = choice

    def _quantities(self) -> None:
        """The number before an item (or after it, within its own stretch of words) is its quantity."""
        starts = [h.start for h in self.hits]
        for index, hit in enumerate(self.hits):
            low = max(self.hits[index - 1].positions) + 1 if index else 0
            high = starts[index + 1] if index + 1 < len(self.hits) else len(self.words)
            before = [p for p in range(hit.start - 1, low - 1, -1)]
            after = [p for p in range(max(hit.positions) + 1, high)]
            for position in [*before, *after]:
                if position in self.numbers and self._counts(position):
                    hit.quantity, hit.quantity_at = self.numbers.pop(position), position
                    break
            if hit.quantity is None and self._one_before(hit, low):
                hit.quantity, hit.implied = 1, True
            items = self.lex.menu.items
            groups = set(items[hit.item].options) if hit.item else {g for c in hit.candidates for g in items[c].options}
            for position in range(low, high):
                for group, choice in self._choices_at(position):
                    if group in groups:
                        hit.options.setdefault(group, choice)
            for position, chosen in list(self.negations.items()):
                if chosen and low <= position < high and chosen[0] in groups:
                    hit.options[chosen[0]] = chosen[1]

    def _one_before(self, hit: Hit, low: int) -> bool:
        for position in range(hit.start - 1, low - 1, -1):
            kinds = self.kinds_at(position)
            if "one" in kinds:
                return True
            if self.words[position] not in self.lex.filler and not kinds & {"definite", "polite"}:
                return False
        return False

    def _counts(self, position: int) -> bool:
        """A number that counts items: not minutes ("paso en 20 minutos") nor money ("pago con 500")."""
        following = self.kinds_at(position + 1)
        preceding = self.kinds_at(position - 1)
        return "minutes" not in following and "paying" not in preceding and "pick" not in preceding - {"definite", "one"}

    def _choices_at(self, position: int) -> list[tuple[str, str]]:
        claim = self.at.get(position)
        if claim is None or claim.start != position:
            return []
        return [tuple(v.split(":", 1)) for v in claim.values("choice")]  # type: ignore[misc]

    # ------------------------------------------------------------ acts

    def acts(self) -> list[a.Act]:
        self._quantities()
        found: list[a.Act] = []
        text = self.text
        commands = [c for c in self.claims if c.kinds() & {"command", "intent"}]
        whole = [c for c in commands if self._whole_only(c)]
        commands = [c for c in commands if c not in whole or self._is_whole(c)]
        if self.removed and any("command" in c.kinds() and self.lex.intent_of(c) == "cancel" for c in commands):
            commands = [c for c in commands if self.lex.intent_of(c) != "cancel"]
        if commands:
            for claim in commands:
                found.extend(x for x in self.lex.intents_of(claim, text) if x not in found)
            if any(self.lex.intent_of(c) not in ("start", "more", "wait") for c in commands):
                return found  # "¿me mandas el menú?": the menu, and nothing else read into the words
        questions = [c for c in self.claims if "question" in c.kinds()]
        if questions or (self.asking and not self._is_request() and self._says_something()):
            found.append(self._question(questions))
            return found
        yes_no = self._yes_no()
        if yes_no is not None:
            found.append(yes_no)
        found.extend(self._edits())
        return found

    def _whole_only(self, claim: Claim) -> bool:
        return self.lex.intent_of(claim) in self.lex.whole_intents

    def _is_whole(self, claim: Claim) -> bool:
        """Nothing else said in the segment but politeness."""
        rest = [p for p in range(len(self.words)) if p not in claim.positions]
        return all(self.words[p] in self.lex.filler or self.kinds_at(p) <= CONTENT_FREE and self.kinds_at(p) for p in rest)

    def _says_something(self) -> bool:
        """More than politeness: "oye" before a question is not a question of its own."""
        return bool(self.leftover()) or any(not c.kinds() <= CONTENT_FREE for c in self.claims) or bool(self.hits)

    def _is_request(self) -> bool:
        """ "¿me das 3 de pastor?": a question in form, an order in fact."""
        return any(h.quantity is not None and not h.implied for h in self.hits) or self.has("add") or self.has("remove")

    def _question(self, claims: list[Claim]) -> a.Asked:
        topics: list[str] = []
        questions: list[int] = []
        for claim in claims:
            for value in claim.values("question"):
                topic = self.lex.question_topics.get(value)
                if topic and topic not in topics:
                    topics.append(topic)
                if not value.startswith("-"):
                    index = int(value)
                    if index not in questions:
                        questions.append(index)
        items = tuple(h.item for h in self.hits if h.item)
        if not items:
            items = tuple(i for h in self.hits for i in h.candidates)
        choices = tuple(c for p in range(len(self.words)) for c in self._choices_at(p))
        choices += tuple(c for c in self.negations.values() if c and c not in choices)
        return a.Asked(tuple(topics), tuple(questions), items, choices, self.text)

    def _yes_no(self) -> a.YesNo | None:
        if not self.first:
            return None
        claim = self._first_content()
        if claim is None:
            return None
        kinds = claim.kinds()
        if "yes" in kinds:
            after = max(claim.positions)
            if any(self._unknown(p) for p in range(after + 1, len(self.words))):
                return None  # "a ver si alcanzo a pasar": if, not yes
            return a.YesNo(True, " ".join(self.words[p] for p in sorted(claim.positions)))
        if "no" in kinds and claim.size == len(claim.positions):
            return a.YesNo(False, " ".join(self.words[p] for p in sorted(claim.positions)))
        return None

    def _edits(self) -> list[a.Act]:
        found: list[a.Act] = []
        text = self.text
        items = [h for h in self.hits if h not in self.removed]
        minus = self.first_of("-") is not None or "-" in self.words
        if minus and items:
            spot = self.words.index("-") if "-" in self.words else -1
            for hit in items:
                if hit.start > spot:
                    return [a.Remove(self._ref(hit), None if hit.implied else hit.quantity, text)]
        if self.removed:
            for hit in self.removed:
                number = hit.quantity if hit.quantity is not None and not hit.implied else self._number_near(hit.start)
                found.append(a.Remove(self._ref(hit), number, text))
            items = [h for h in items if h.start < self.removed[0].start]
            if not items:
                found.extend(self._plain([], keep_steps=True))
                return found
        remove = self.first_of("remove")
        if remove is not None and not self.removed:
            number = self._take_number()
            if number is not None or not items:
                found.append(a.Remove(a.IT, number, text) if number is not None else a.Unclear(text))
                return found
        change, instead, become = self.first_of("change"), self.first_of("instead"), self.first_of("become")
        if change is not None:
            into = self.first_of("into")
            cut = into.start if into is not None else len(self.words)
            old = [h for h in items if h.start < cut]
            new = [h for h in items if h.start > cut]
            if new:
                return [*found, self._replace(self._ref(old[0]) if old else a.IT, new[0])]
            chosen = self._loose_choices(self._ref(old[0]) if old else a.IT)
            if chosen:
                return [*found, *chosen]  # "cambia los de pastor a harina"
            if old and into is None:
                return [*found, a.Replace(self._ref(old[0]), None, (), None, {}, text)]
            return [*found, *self._plain([], keep_steps=True, rather=True)]
        if instead is not None:
            after = [h for h in items if h.start > instead.start]
            if after:
                gone = after[0]
                others = [h for h in items if h is not gone]
                if others:
                    return [*found, self._replace(self._ref(gone), others[0])]
                return [*found, a.Replace(self._ref(gone), None, (), None, {}, text)]
        if become is not None:
            before = [h for h in items if h.start < become.start]
            after = [h for h in items if h.start > become.start]
            negated = "no" in self.kinds_at(become.start - 1)
            if negated and after:
                return [*found, a.Replace(self._ref(after[0]), None, (), None, {}, text)]
            if before and after:
                return [*found, self._replace(self._ref(before[0]), after[0])]
            if after:
                hit = after[0]
                said_one = hit.quantity == 1 and hit.quantity_at is not None and not self.words[hit.quantity_at].isdigit()
                if hit.quantity is not None and hit.item and not said_one:
                    return [*found, a.SetQuantity(a.Ref(hit.item), hit.quantity, text)]
                return [*found, self._replace(a.IT, hit)]  # "make it a pepperoni", "que sea una gringa"
            number = self._take_number()
            if number is not None:
                return [*found, a.SetQuantity(self._ref(before[0]) if before else a.IT, number, text)]
            chosen = self._loose_choices(self._ref(before[0]) if before else a.IT)
            if chosen:
                return [*found, *chosen]
        again, more = self.first_of("again"), self.first_of("more")
        if again is not None:
            target = next((h for h in items if h.start > again.start), items[0] if items else None)
            count = target.quantity if target is not None and target.quantity else self._take_number() or 1
            if again.size > 1 and target is None:
                count = 1
            return [*found, a.More(self._ref(target) if target else a.IT, count, text)]
        if more is not None:
            number = self._number_before(more.start)
            target = next((h for h in items if h.quantity_at is not None and h.quantity_at == more.start - 1), None)
            if target is not None:
                return [*found, a.More(self._ref(target), target.quantity or 1, text)]
            if number is not None:
                self.numbers.pop(more.start - 1, None)
                target = items[0] if items else None
                return [*found, a.More(self._ref(target) if target else a.IT, number, text)]
        if self.has("rather") or self.has("only"):
            if items and items[0].quantity is not None and items[0].item and self.has("rather"):
                hit = items[0]
                return [*found, a.SetQuantity(a.Ref(hit.item), hit.quantity or 0, text)]
        found.extend(self._plain(items, keep_steps=True, rather=self.has("rather")))
        return found

    def _plain(self, items: list[Hit], keep_steps: bool, rather: bool = False) -> list[a.Act]:
        """Items, loose option choices, choice-step words, numbers and the rest, as they come."""
        found: list[a.Act] = []
        text = self.text
        explicit = self.joined or self.has("add")
        definite = self.has("definite")
        items = self._joined_names(items)
        for hit in items:
            if hit.item:
                found.append(a.AddLine(hit.item, hit.quantity, dict(hit.options), text, explicit,
                                       definite and hit.quantity is None))
            else:
                found.append(a.Unsure(hit.candidates, hit.quantity, dict(hit.options), text, explicit))
        if not items:
            found.extend(self._loose_choices(a.IT))
        plain = {"step", "any", "each", "unknown_ref", "ordinal", "none", "done", "unsure"}
        for claim in self.claims if self.kindset() & plain else ():
            kinds = claim.kinds()
            steps = tuple(tuple(v.split(":", 1)) for v in claim.values("step"))
            if steps and keep_steps and not any(claim.positions & h.positions for h in items):
                found.append(a.StepChoice(steps, text, rather))  # type: ignore[arg-type]
            if "any" in kinds:
                found.append(a.AnyChoice(text))
            if "each" in kinds:
                found.append(a.Each(text))
            if "unknown_ref" in kinds:
                found.append(a.UnknownRef(text))
            if "ordinal" in kinds:
                found.append(a.Pick(int(claim.values("ordinal")[0]), text))
            if "none" in kinds:
                found.append(a.Remove(a.IT, None, text))  # "mejor ninguno": not that one after all
            if "done" in kinds and not self._number_next_to(claim):
                found.append(a.Intent("done", None, text))
            if "unsure" in kinds:
                found.append(a.Intent("unsure", None, text))
        found.extend(self._names_and_phones())
        if not items and not any(isinstance(act, a.Phone) for act in found):
            for position, value in sorted(self.numbers.items()):
                if "pick" in self.kinds_at(position - 1):
                    found.append(a.Pick(value, text))
                elif self._counts(position):
                    found.append(a.Number(value, text))
        if any(choice is None for choice in self.negations.values()):
            found.append(a.Unclear(text))
        return found

    def _joined_names(self, items: list[Hit]) -> list[Hit]:
        """Two items named as one ("una orden de suadero": the menu's order is of pastor): which one?"""
        joined: list[Hit] = []
        for hit in items:
            last = joined[-1] if joined else None
            if (last is not None and last.item and hit.item and hit.quantity is None and not hit.options
                    and all(self.words[p] in self.lex.filler for p in range(max(last.positions) + 1, hit.start))
                    and max(last.positions) + 1 < hit.start):
                joined[-1] = Hit(None, (last.item, hit.item), last.positions | hit.positions, last.start,
                                 last.quantity, dict(last.options))
                continue
            joined.append(hit)
        return joined

    def _loose_choices(self, ref: a.Ref) -> list[a.Act]:
        """Option choices said without an item ("de harina", "3 con harina", "los demás de maíz")."""
        found: list[a.Act] = []
        if "choice" not in self.kindset() and not self.negations:
            return found
        negated_groups = {c[0] for c in self.negations.values() if c}
        rest = self.has("rest")
        for position in range(len(self.words)):
            options = self._choices_at(position)
            if not options:
                continue
            options = [c for c in options if c[0] not in negated_groups]  # "con todo menos cebolla": the exception wins
            if not options:
                continue
            quantity = self._number_before(position, take=True)
            (group, choice), *others = options
            found.append(a.Choose(group, choice, quantity, self.text, rest and quantity is None, ref, tuple(others)))
        for position, chosen in sorted(self.negations.items()):
            if chosen and position not in {c.start for c in self.claims if c.kinds() & {"without", "but", "only_with"}}:
                continue
            if chosen:
                quantity = self._number_before(position, take=True)
                found.append(a.Choose(chosen[0], chosen[1], quantity, self.text, False, ref))
        return found

    def _names_and_phones(self) -> list[a.Act]:
        found: list[a.Act] = []
        digits_said = any(w[-1:].isdigit() for w in self.words)
        if not digits_said and not self.kindset() & {"same_phone", "name_intro", "name_here", "field"}:
            return found
        text = self.text
        digits = self._phone_digits()
        if digits:
            found.append(a.Phone(digits, text))
        for claim in self.claims:
            kinds = claim.kinds()
            if "same_phone" in kinds and not digits:
                found.append(a.SamePhone(text, bool(kinds & {"yes", "no"})))
            if kinds & {"name_intro", "name_here"} and not self.has("field") and claim is self._first_content():
                name = _after(self.chunk, self.words, max(claim.positions) + 1, self.lex)
                if name:
                    found.append(a.Name(name, text, "name_intro" not in kinds))
        field_claim = self.first_of("field")
        if field_claim is not None:
            is_claim = next((c for c in self.claims if "is" in c.kinds() and c.start > field_claim.start), None)
            if is_claim is not None:
                value = _after(self.chunk, self.words, max(is_claim.positions) + 1, self.lex)
                if value:
                    found.append(a.Correct(field_claim.values("field")[0], value, text))
            else:
                found.append(a.Correct(field_claim.values("field")[0], "", text))
        return found

    def _phone_digits(self) -> str:
        run: list[str] = []
        best = ""
        for word in self.words:
            if word.isdigit() or (word.startswith("+") and word[1:].isdigit()):
                run.append(word)
                joined = "".join(run)
                if len(joined.lstrip("+")) >= PHONE_DIGITS and len(joined) > len(best):
                    best = joined
            else:
                run = []
        return best

    # ------------------------------------------------------------ small helpers

    def _ref(self, hit: Hit | None) -> a.Ref:
        if hit is None:
            return a.IT
        return a.Ref(hit.item, hit.candidates)

    def _replace(self, ref: a.Ref, hit: Hit) -> a.Replace:
        quantity = None if hit.implied else hit.quantity
        return a.Replace(ref, hit.item, hit.candidates, quantity, dict(hit.options), self.text)

    def _take_number(self) -> int | None:
        for position in sorted(self.numbers):
            if self._counts(position):
                return self.numbers.pop(position)
        return None

    def _number_before(self, position: int, take: bool = False) -> int | None:
        for spot in range(position - 1, -1, -1):
            if spot in self.numbers:
                return self.numbers.pop(spot) if take else self.numbers[spot]
            if self.at.get(spot) is not None and self.kinds_at(spot) & {"choice"}:
                return None
        return None

    def _number_near(self, position: int) -> int | None:
        for spot in sorted(self.numbers, key=lambda p: abs(p - position)):
            if self._counts(spot):
                return self.numbers.pop(spot)
        return None

    def _number_next_to(self, claim: Claim) -> bool:
        """ "2 nada más": "nada más" says only two, it does not finish the order."""
        if "only" not in claim.kinds():
            return False
        low, high = min(claim.positions) - 1, max(claim.positions) + 1
        return low in self.numbers or high in self.numbers or any(
            h.quantity is not None and (low in h.positions or high in h.positions) for h in self.hits
        )

    def _unknown(self, position: int) -> bool:
        word = self.words[position]
        return (position not in self.at and word not in self.lex.filler and not word.isdigit()
                and not any(position in h.positions for h in self.hits))

    def leftover(self) -> list[str]:
        """Words nothing explains: not a phrase, not an item, not a number, not a small word."""
        used = {p for h in self.hits for p in h.positions} | set(self.numbers) | set(self.at) | set(self.negations)
        return [w for p, w in enumerate(self.words) if p not in used and w not in self.lex.filler and not w.isdigit()]


def _after(chunk: str, words: tuple[str, ...], start: int, lexicon: Lexicon) -> str:
    """The chunk as typed from its ``start``-th word on, without polite words at the end."""
    typed = chunk.split()
    count = 0
    index = 0
    while index < len(typed) and count < start:
        count += len(tokens_of(typed[index]))
        index += 1
    rest = typed[index:]
    polite = lexicon.polite_words
    while rest and _polite(rest[-1], polite):
        rest.pop()
    return " ".join(rest).strip(" .")


def words_of(acts: Iterable[a.Act]) -> list[str]:
    return [act.words for act in acts]
