"""What the runtime derives once from a set of flows: templates, word indexes, the menu view."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any

from engine.model.hours import Hours
from engine.model.menu import Menu, OptionGroup
from engine.model.restaurant import Restaurant
from engine.model.session import Line
from engine.model.steps import (
    BACK,
    END,
    ChoiceStep,
    Command,
    ConfirmStep,
    MessageStep,
    OrderFlow,
    OrderItemStep,
    PhoneStep,
    TextStep,
    conditions_of,
)
from engine.runtime import cart as carts
from engine.runtime.hours import Schedule
from engine.runtime.lexicon import Lexicon
from engine.runtime.overrides import NO_OVERRIDES, Overrides
from engine.runtime.templates import Templates
from engine.runtime.understand import Phrases, key_tokens, normalise

CARTS_KEPT = 1024
"""Cart views remembered per flows (then they start afresh): most carts are a few common lines."""


class Compiled:
    """Built by ``Flows`` itself from its records, so a changed copy of the flows never runs on stale
    templates or word indexes."""

    def __init__(self, restaurant: Restaurant, menu: Menu, hours: Hours, messages: dict[str, str], order: OrderFlow) -> None:
        self._restaurant = restaurant
        self._menu = menu
        self._hours = hours
        self._messages = messages
        self._order = order
        self._conditions = conditions_of(order)
        self._menu_views: dict[tuple[frozenset[str], frozenset[str]], dict[str, Any]] = {}
        self._cart_views: dict[tuple[Any, ...], dict[str, Any]] = {}

    @cached_property
    def templates(self) -> Templates:
        # Each message is compiled on its first use, so a template syntax error is reported by the checks.
        return Templates(self._messages, self._conditions, self._restaurant.money, self._restaurant.language.statuses)

    @cached_property
    def item_phrases(self) -> Phrases:
        """Item id -> the token lists that name it (name, id, aliases), without the words a customer
        need not type (the language's filler, the menu's common words)."""
        ignored = self._restaurant.words.filler | self._menu.common_words
        phrases: dict[str, list[list[str]]] = {}
        for item in self._menu.items.values():
            names = [item.name, item.id.replace("_", " "), item.short_name, *item.aliases]
            phrases[item.id] = [tokens for tokens in (key_tokens(n, ignored) for n in names) if tokens]
        return Phrases(phrases)

    @cached_property
    def lexicon(self) -> Lexicon:
        """Every phrase the reading of a message looks for (see ``engine.runtime.reading``)."""
        return Lexicon(self._restaurant, self._menu, self._order, self.item_phrases)

    @cached_property
    def item_names(self) -> dict[str, str]:
        """Every normalised way to name an item -> the item's name (for suggestions)."""
        names: dict[str, str] = {}
        for item in self._menu.items.values():
            for name in (item.name, *item.aliases):
                names.setdefault(normalise(name), item.name)
        return names

    def choice_phrases(self, group: OptionGroup) -> Phrases:
        return self._choice_phrases[group.id]

    @cached_property
    def _choice_phrases(self) -> dict[str, Phrases]:
        return {group.id: _words_of(group.choices) for group in self._menu.options.values()}

    def step_phrases(self, step: ChoiceStep) -> Phrases:
        """Choice id -> the words that pick it, for a ``choice`` step of the order flow."""
        return self._step_phrases[step.id]

    @cached_property
    def _step_phrases(self) -> dict[str, Phrases]:
        steps = self._order.steps.values()
        return {step.id: _words_of(step.choices) for step in steps if isinstance(step, ChoiceStep)}

    @cached_property
    def commands(self) -> dict[str, Command]:
        # A word that normalises to nothing ("?") could never be typed apart from an empty message.
        return {word: command for command in self._order.commands for word in command.words if word}

    @cached_property
    def week(self) -> list[dict[str, Any]]:
        """The weekly hours for messages (``hours.week``), Monday first."""
        language = self._restaurant.language
        days = []
        for name, opening in zip(language.weekdays, self._hours.weekly):
            days.append({
                "day": name, "closed": opening is None,
                "opens": "" if opening is None else language.clock_text(opening.opens.hour, opening.opens.minute),
                "closes": "" if opening is None else language.clock_text(opening.closes.hour, opening.closes.minute),
            })
        return days

    @cached_property
    def order_step(self) -> OrderItemStep | None:
        """The step that takes items: where changes said later in the order go back to."""
        return next((s for s in self._order.steps.values() if isinstance(s, OrderItemStep)), None)

    @cached_property
    def text_answers(self) -> frozenset[str]:
        """What ``text`` steps save (``name``, ``address``)."""
        return frozenset(s.save_as for s in self._order.steps.values() if isinstance(s, TextStep))

    @cached_property
    def phone_answers(self) -> tuple[str, ...]:
        """What ``phone`` steps save (``contact``)."""
        return tuple(s.save_as for s in self._order.steps.values() if isinstance(s, PhoneStep))

    def places_order(self, step: ConfirmStep) -> bool:
        """Whether a yes at ``step`` places the order (the summary, not "¿cancelamos?")."""
        return self._places.get(step.id, False)

    @cached_property
    def _places(self) -> dict[str, bool]:
        found = {}
        for step in self._order.steps.values():
            if isinstance(step, ConfirmStep):
                found[step.id] = self._leads_to_placing([b.go for b in step.yes], set())
        return found

    def _leads_to_placing(self, ids: list[str], seen: set[str]) -> bool:
        for step_id in ids:
            if step_id in seen or step_id in (END, BACK):
                continue
            seen.add(step_id)
            step = self._order.steps.get(step_id)
            if isinstance(step, MessageStep):
                if "place_order" in step.do or self._leads_to_placing([b.go for b in step.next], seen):
                    return True
        return False

    @cached_property
    def answer_names(self) -> dict[str, dict[str, str]]:
        """save_as -> choice id -> the choice's name, so templates can say "a domicilio"."""
        names: dict[str, dict[str, str]] = {}
        for step in self._order.steps.values():
            if isinstance(step, ChoiceStep) and step.save_as:
                for choice in step.choices:
                    names.setdefault(step.save_as, {}).setdefault(choice.id, choice.name)
        return names

    def menu_view(self, overrides: Overrides = NO_OVERRIDES) -> dict[str, Any]:
        """The menu for templates, with the admin's sold-out marks (one copy per set of marks)."""
        key = (overrides.sold_out, overrides.back_in_stock)
        view = self._menu_views.get(key)
        if view is None:
            view = self._menu_views[key] = self._build_menu_view(overrides)
        return view

    def cart_view(self, lines: tuple[Line, ...]) -> dict[str, Any]:
        """The cart for templates: the same lines are described once, then shared.

        Sharing is safe because templates cannot change what they are given (immutable sandbox).
        """
        key = tuple((line.item, line.quantity, tuple(line.options.items())) for line in lines)
        try:
            view = self._cart_views.get(key)
        except TypeError:  # an option that is not a string (a hand-edited session): not remembered
            return carts.cart_view(self._menu, lines)
        if view is None:
            if len(self._cart_views) >= CARTS_KEPT:
                self._cart_views.clear()
            view = self._cart_views[key] = carts.cart_view(self._menu, lines)
        return view

    def _build_menu_view(self, overrides: Overrides) -> dict[str, Any]:
        categories = [
            {
                "name": category.name,
                "emoji": category.emoji,
                "items": [
                    {
                        "id": item.id,
                        "name": item.name,
                        "short_name": item.short_name,
                        "price": item.price,
                        "description": item.description,
                        "available": overrides.available(item),
                    }
                    for item in category.items
                ],
            }
            for category in self._menu.categories
        ]
        return {"categories": categories}

    @cached_property
    def schedule(self) -> Schedule:
        return Schedule(self._hours)

    @cached_property
    def restaurant_view(self) -> dict[str, Any]:
        r = self._restaurant
        return {
            "name": r.name,
            "phone": r.phone,
            "address": r.address,
            "currency": r.currency,
            "delivery": {"fee": r.delivery.fee, "free_from": r.delivery.free_from, "minimum": r.delivery.minimum},
            "estimated_minutes": dict(r.estimated_minutes),
        }


def _words_of(choices: Iterable[Any]) -> Phrases:
    """Choice id -> its words (already normalised) as token lists."""
    return Phrases({c.id: [w.split() for w in c.words] for c in choices})
