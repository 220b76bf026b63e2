"""The last stage of loading: the checked YAML data becomes immutable typed records (``engine.model``)
and the ``Flows`` the runtime runs, with what it derives once (``Compiled``)."""

from __future__ import annotations

import hashlib
from dataclasses import fields, replace
from datetime import time
from typing import Any

from engine.languages import DEFAULT_LANGUAGE, LANGUAGES
from engine.languages.language import OWN_INTENTS, Language, Phrasebook
from engine.loading.source import Source
from engine.model.hours import Hours, Opening
from engine.model.menu import Category, Choice, Item, Menu, OptionGroup
from engine.model.restaurant import DeliveryTerms, Money, Restaurant, Words
from engine.model.steps import (
    Branch,
    ChoiceOption,
    ChoiceStep,
    Command,
    Question,
    ConfirmStep,
    MessageStep,
    OrderFlow,
    OrderItemStep,
    PhoneStep,
    Step,
    Target,
    TextStep,
)
from engine.runtime.flows import Flows
from engine.runtime.understand import normalise, words_of

FLOW_FILES = ("restaurant", "menu", "hours", "messages", "order")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


# ------------------------------------------------------------------ building records


def build(sources: dict[str, Source]) -> Flows:
    data = {kind: source.data for kind, source in sources.items()}
    order = build_order(data["order"])
    digest = hashlib.sha256()
    for kind in FLOW_FILES:
        digest.update(repr(data[kind]).encode())
    messages = {str(k): str(v) for k, v in data["messages"].items()}
    flows = Flows(
        restaurant=build_restaurant(data["restaurant"]),
        menu=build_menu(data["menu"]),
        hours=build_hours(data["hours"]),
        messages=messages,
        order=order,
        hash=digest.hexdigest()[:12],
    )
    return flows


def build_restaurant(raw: dict[str, Any]) -> Restaurant:
    delivery = raw["delivery"]
    language = build_language(raw)
    return Restaurant(
        name=raw["name"],
        phone=str(raw["phone"]),
        country=raw["country"],
        currency=raw["currency"],
        money=build_money(raw.get("money") or {}),
        language=language,
        delivery=DeliveryTerms(delivery["fee"], delivery["free_from"], delivery["minimum"]),
        estimated_minutes={k: str(v) for k, v in raw["estimated_minutes"].items()},
        session_minutes=raw.get("session_minutes", 30),
        handover_minutes=raw.get("handover_minutes", 60),
        words=build_words(language),
        address=str(raw["address"]) if raw.get("address") else None,
    )


def build_language(raw: dict[str, Any]) -> Language:
    """The restaurant's language: the one it names, with the words its ``restaurant.yaml`` replaces.

    A list (``words.yes``...) replaces the language's list; in a table (``numbers``, ``opening``,
    ``statuses``, ``admin_commands``) each entry written replaces that entry only.
    """
    base = LANGUAGES[raw.get("language", DEFAULT_LANGUAGE.code)]
    words = raw.get("words") or {}

    def listed(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(str(w) for w in words[key]) if key in words else default

    commands = {str(k): tuple(str(w) for w in v) for k, v in (raw.get("admin_commands") or {}).items()}
    return replace(
        base,
        yes=listed("yes", base.yes),
        no=listed("no", base.no),
        done=listed("done", base.done),
        greeting=listed("greeting", base.greeting),
        filler=listed("filler", base.filler),
        remove=listed("remove", base.remove),
        separators=listed("and", base.separators),
        numbers={**base.numbers, **{str(k): int(v) for k, v in (raw.get("numbers") or {}).items()}},
        opening=replace(base.opening, **{str(k): str(v) for k, v in (raw.get("opening") or {}).items()}),
        statuses={**base.statuses, **{str(k): str(v) for k, v in (raw.get("statuses") or {}).items()}},
        admin_commands={**base.admin_commands, **commands},
        phrasebook=build_phrasebook(base.phrasebook, words),
    )


PHRASEBOOK_LISTS = tuple(
    f.name for f in fields(Phrasebook) if f.name not in ("intents", "questions", "ordinals", "fields")
)
"""The phrasebook's lists ``restaurant.yaml`` may replace under ``words`` (``is_`` is written ``is``)."""


def build_phrasebook(base: Phrasebook, words: dict[str, Any]) -> Phrasebook:
    """The language's phrasebook with the lists ``restaurant.yaml``'s ``words`` replaces."""
    changed: dict[str, Any] = {
        name: tuple(str(w) for w in words[name.rstrip("_")])
        for name in PHRASEBOOK_LISTS
        if name.rstrip("_") in words
    }
    intents = {name: tuple(str(w) for w in words[name]) for name in OWN_INTENTS if name in words}
    if intents:
        changed["intents"] = {**base.intents, **intents}
    return replace(base, **changed) if changed else base


def build_words(language: Language) -> Words:
    remove = sorted({tuple(normalise(w).split()) for w in language.remove} - {()}, key=len, reverse=True)
    return Words(
        yes=words_of(language.yes),
        no=words_of(language.no),
        done=words_of(language.done),
        greeting=words_of(language.greeting),
        filler=words_of(language.filler),
        remove=tuple(remove),
        separators=words_of(language.separators),
        numbers={normalise(word): number for word, number in language.numbers.items() if normalise(word)},
        admin={
            normalise(word): command
            for command, typed in language.admin_commands.items()
            for word in typed
            if normalise(word)
        },
    )


def build_money(raw: dict[str, Any]) -> Money:
    default = Money()
    return Money(
        symbol=str(raw.get("symbol", default.symbol)),
        symbol_after=raw.get("symbol_position", "before") == "after",
        thousands=str(raw.get("thousands", default.thousands)),
        decimal=str(raw.get("decimal", default.decimal)),
        decimals=int(raw.get("decimals", default.decimals)),
    )


def build_menu(raw: dict[str, Any]) -> Menu:
    groups = {
        group_id: OptionGroup(
            id=group_id,
            question=group["question"],
            choices=tuple(
                Choice(c["id"], c["name"], c.get("price", 0), tuple(words_of(_named(c))),
                       title=c.get("title"), description=c.get("description"))
                for c in group["choices"]
            ),
            default=group.get("default"),
            ask=group.get("ask", True),
            buttons=group.get("buttons", True),
        )
        for group_id, group in (raw.get("options") or {}).items()
    }
    categories = []
    items: dict[str, Item] = {}
    for category in raw["categories"]:
        built = tuple(
            Item(
                id=item["id"],
                name=item["name"],
                price=item["price"],
                category=category["name"],
                aliases=tuple(item.get("aliases", ())),
                description=item.get("description"),
                options=tuple(item.get("options", ())),
                option_prices=dict(item.get("option_prices", {})),
                available=item.get("available", True),
                plural=item.get("plural", item["name"]),
                feminine=item.get("feminine", False),
                short_name=item.get("short_name", item["name"]),
            )
            for item in category["items"]
        )
        for item in built:
            items.setdefault(item.id, item)
        categories.append(
            Category(category["name"], category.get("emoji", ""), built, tuple(words_of(category.get("words", ()))))
        )
    return Menu(raw["max_quantity"], groups, tuple(categories), items, words_of(raw.get("common_words", ())))


def parse_opening(value: str) -> Opening | None:
    if value == "closed":
        return None
    opens, closes = value.replace("–", "-").split("-")
    return Opening(parse_clock(opens), parse_clock(closes))


def parse_clock(text: str) -> time:
    hour, minute = text.strip().split(":")
    return time(int(hour) % 24, int(minute))


def build_hours(raw: dict[str, Any]) -> Hours:
    return Hours(
        timezone=raw["timezone"],
        last_orders_minutes=raw.get("last_orders_minutes", 0),
        weekly=tuple(parse_opening(raw["weekly"][day]) for day in DAYS),
        special={str(day): parse_opening(value) for day, value in (raw.get("special") or {}).items()},
    )


def build_target(raw: Any) -> Target:
    if isinstance(raw, str):
        return (Branch(raw),)
    return tuple(Branch(branch["go"], branch.get("if")) for branch in raw)


def build_step(step_id: str, raw: dict[str, Any]) -> Step:
    kind = raw["kind"]
    if kind == "message":
        return MessageStep(id=step_id, next=build_target(raw["next"]), say=raw.get("say"), do=tuple(raw.get("do", ())))
    ask: str = raw["ask"]
    retry: str | None = raw.get("retry")
    if kind == "order_item":
        return OrderItemStep(id=step_id, ask=ask, retry=retry, next=build_target(raw["next"]), done=build_target(raw["done"]))
    if kind == "choice":
        choices = tuple(
            ChoiceOption(
                c["id"],
                c.get("name", c["id"]),
                tuple(words_of(_named(c))),
                build_target(c["go"]) if "go" in c else None,
                title=c.get("title"),
                description=c.get("description"),
            )
            for c in raw["choices"]
        )
        next_ = build_target(raw["next"]) if "next" in raw else None
        return ChoiceStep(id=step_id, ask=ask, retry=retry, choices=choices, next=next_, save_as=raw.get("save_as"),
                          buttons=raw.get("buttons", True))
    if kind == "text":
        return TextStep(
            id=step_id,
            ask=ask,
            retry=retry,
            save_as=raw["save_as"],
            next=build_target(raw["next"]),
            accept=tuple(raw.get("accept", ("text",))),
            min_length=raw.get("min_length", 1),
            max_length=raw.get("max_length", 300),
        )
    if kind == "phone":
        return PhoneStep(
            id=step_id,
            ask=ask,
            retry=retry,
            save_as=raw["save_as"],
            next=build_target(raw["next"]),
            same_words=tuple(normalise(w) for w in raw.get("same_words", ())),
        )
    if kind == "confirm":
        return ConfirmStep(id=step_id, ask=ask, retry=retry, yes=build_target(raw["yes"]), no=build_target(raw["no"]),
                           buttons=raw.get("buttons", True), yes_title=raw.get("yes_title"), no_title=raw.get("no_title"))
    raise ValueError(f"unknown step kind {kind!r}")  # the schema lets none through


def _named(choice: dict[str, Any]) -> list[str]:
    """What a customer may type to pick a choice: its name, its button title (a tap sends that
    text too) and its words."""
    name = choice.get("name", choice["id"])
    return [name, *([choice["title"]] if "title" in choice else []), *choice.get("words", [])]


def _phrasing(words: str) -> str:
    """A question's phrasing normalised, keeping the final "?" that says it counts only in a question."""
    return normalise(words) + ("?" if words.rstrip().endswith("?") else "")


def build_order(raw: dict[str, Any]) -> OrderFlow:
    commands = tuple(
        Command(tuple(normalise(w) for w in c.get("words", ())), c.get("say"), c.get("go"), c.get("intent"))
        for c in raw.get("commands", ())
    )
    questions = tuple(
        Question(q["say"], q.get("topic"), tuple(_phrasing(w) for w in q.get("words", ()) if normalise(w)))
        for q in raw.get("questions", ())
    )
    steps = {str(step_id): build_step(str(step_id), step) for step_id, step in raw["steps"].items()}
    return OrderFlow(raw["start"], commands, steps, questions)
