"""A message read once, whatever the step: a ``Reading``, a list of acts with the words they came from.

``engine.runtime.reading.read`` builds it from the text and the restaurant's ``Lexicon``; the step
waiting for the customer decides what each act means there (``engine.runtime.handle``). One small
frozen dataclass per act. ``words`` is always the normalised words the act was read from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True, slots=True)
class Ref:
    """What an edit points at: an item of the cart, one of a few items, or nothing said ("it")."""

    item: str | None = None
    """The item named ("quita la horchata")."""
    candidates: tuple[str, ...] = ()
    """Items a general word fits ("quita el agua": horchata or jamaica)."""

    @property
    def said(self) -> bool:
        return self.item is not None or bool(self.candidates)


IT = Ref()
"""Nothing named: the line being asked about, or the only (or last) line of the cart."""


@dataclass(frozen=True, slots=True)
class AddLine:
    """An item to add: "3 pastor de harina"."""

    item: str
    quantity: int | None
    options: dict[str, str]
    """Option group id -> choice id said with it."""
    words: str
    explicit: bool = False
    """Said with a word for adding ("agrégale", "y también"): meant for the cart even mid-questions."""
    definite: bool = False
    """Said with an article and no number ("los de pastor"): may point at a line already there."""


@dataclass(frozen=True, slots=True)
class Unsure:
    """A name that fits several items ("una quesadilla"): the bot asks which."""

    candidates: tuple[str, ...]
    quantity: int | None
    options: dict[str, str]
    words: str
    explicit: bool = False


@dataclass(frozen=True, slots=True)
class Remove:
    """Take a line out, or ``quantity`` units of it: "quita una horchata", "sin la torta", "-1 pastor"."""

    ref: Ref
    quantity: int | None
    words: str


@dataclass(frozen=True, slots=True)
class Replace:
    """A line becomes another item: "cambia la torta por una gringa", "no, dije bistec"."""

    ref: Ref
    item: str | None
    """The new item; None while a later part of the message may say it ("en vez de horchata, jamaica")."""
    candidates: tuple[str, ...]
    """When the new item's name fits several ("por una quesadilla")."""
    quantity: int | None
    options: dict[str, str]
    words: str


@dataclass(frozen=True, slots=True)
class SetQuantity:
    """How many a line is to be: "que sean 4", "mejor 2 de pastor", "eran 2"."""

    ref: Ref
    quantity: int
    words: str


@dataclass(frozen=True, slots=True)
class More:
    """More of a line already there: "una más", "otra horchata", "2 más de pastor"."""

    ref: Ref
    quantity: int
    words: str


@dataclass(frozen=True, slots=True)
class Choose:
    """An option choice said without its item: "de harina", "sin cebolla", "3 con harina"."""

    group: str
    choice: str
    quantity: int | None
    """How many of the line it is for ("3 con harina y 2 de maíz"); None: all of it."""
    words: str
    rest: bool = False
    """For the rest of the line ("los demás de maíz")."""
    ref: Ref = IT
    alternatives: tuple[tuple[str, str], ...] = ()
    """Other (group, choice) the same words name ("normal": maíz, or con todo): the question asked decides."""


@dataclass(frozen=True, slots=True)
class Intent:
    """Something asked for at any moment: a command of the flows (``command``) or one the engine
    handles itself (``done``, ``wait``, ``start``, ``more``...)."""

    name: str
    """One of ``languages.INTENTS``, ``done``, or ``command`` for a command without an intent."""
    command: int | None
    """The flows' command (its position in ``commands``), when there is one."""
    words: str


@dataclass(frozen=True, slots=True)
class YesNo:
    value: bool
    words: str


@dataclass(frozen=True, slots=True)
class Number:
    """A number on its own: a quantity asked for, or a choice by its number."""

    value: int
    words: str


@dataclass(frozen=True, slots=True)
class Pick:
    """A choice by its position, said as such: "la 2", "opción 2", "la segunda"."""

    position: int
    words: str


@dataclass(frozen=True, slots=True)
class AnyChoice:
    """Any choice will do: "la que sea"."""

    words: str


@dataclass(frozen=True, slots=True)
class Each:
    """One of each of the items just offered: "una de cada una"."""

    words: str


@dataclass(frozen=True, slots=True)
class StepChoice:
    """Words that answer a ``choice`` step of the flows: "recoger", "en efectivo"."""

    options: tuple[tuple[str, str], ...]
    """(step id, choice id) for every step these words answer."""
    words: str
    rather: bool = False
    """Said as a change of mind ("mejor paso yo")."""


@dataclass(frozen=True, slots=True)
class Name:
    """A name after its lead-in: "me llamo Juan", "a nombre de Lupita"."""

    text: str
    """As the customer wrote it (case and accents kept)."""
    words: str
    here_only: bool = False
    """Read from a weak lead-in ("para Luis"): a name only when the bot has just asked for it."""


@dataclass(frozen=True, slots=True)
class Phone:
    """A phone number as written ("55 8765 4321")."""

    digits: str
    words: str


@dataclass(frozen=True, slots=True)
class SamePhone:
    """This very WhatsApp number: "este", "al de WhatsApp"."""

    words: str
    weak: bool = False
    """Said with words that are also a yes ("sí"): the contact only when the bot asked for it."""


@dataclass(frozen=True, slots=True)
class Correct:
    """A correction of an answer already given: "el nombre es Ana María"."""

    field: str
    """One of ``languages.FIELDS``."""
    value: str
    """As written."""
    words: str


@dataclass(frozen=True, slots=True)
class Asked:
    """A question to answer from the flows' ``questions``."""

    topics: tuple[str, ...]
    """Topics the phrasing fits, first the likeliest (one of ``languages.TOPICS``)."""
    questions: tuple[int, ...]
    """The flows' questions it fits (positions in ``questions``): none for a question the flows do not answer."""
    items: tuple[str, ...]
    """Items named in it ("¿cuánto cuesta la gringa?")."""
    choices: tuple[tuple[str, str], ...]
    """Option choices named in it ("¿cuánto más la de harina?")."""
    words: str


@dataclass(frozen=True, slots=True)
class Unclear:
    """Something said that must be asked about rather than guessed: "sin nada", "coca light"."""

    words: str


@dataclass(frozen=True, slots=True)
class UnknownRef:
    """A reference to something the bot does not know: "la misma de siempre"."""

    words: str


Act = Union[
    AddLine, Unsure, Remove, Replace, SetQuantity, More, Choose, Intent, YesNo, Number, Pick, AnyChoice, Each,
    StepChoice, Name, Phone, SamePhone, Correct, Asked, Unclear, UnknownRef,
]

EDITS = (Remove, Replace, SetQuantity, More)
"""Acts that change lines already there."""


@dataclass(frozen=True, slots=True)
class Reading:
    """What one message says."""

    text: str
    """The message as typed, stripped."""
    acts: tuple[Act, ...]
    """In the order of the message."""
    asking: bool = False
    """The message is worded as a question ("?", "¿")."""
    rather: bool = False
    """It corrects or changes what was said just before ("no, …", "perdón, …", "mejor …")."""
    leftover: tuple[str, ...] = ()
    """Words no act explains (normalised), besides politeness and small words."""
    chunks: tuple[str, ...] = field(default=())
    """The message cut at commas and question marks, as typed: where names and addresses are read from."""
    free: tuple[str, ...] = ()
    """The chunks that carry no act (as typed, without politeness): a name or an address."""
    greeting: bool = False
    """It greets ("hola", "buenas tardes")."""

    def of(self, *kinds: type) -> list[Act]:
        return [act for act in self.acts if isinstance(act, kinds)]

    def has(self, *kinds: type) -> bool:
        return any(isinstance(act, kinds) for act in self.acts)
