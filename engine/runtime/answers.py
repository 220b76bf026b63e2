"""Answering a customer's question from the flows' ``questions``: which one it is, and what its
answer is told about (the items and option choices the question names).

The step the customer was at then asks its own question again (``Turn.reask``).
"""

from __future__ import annotations

from typing import Any, Protocol

from engine.model.session import Session
from engine.runtime.acts import Asked
from engine.runtime.flows import Flows
from engine.runtime.overrides import Overrides
from engine.runtime.views import answer_item_view


class AnsweringTurn(Protocol):
    flows: Flows
    overrides: Overrides
    session: Session

    def say(self, key: str, extras: dict[str, Any] | None = None) -> None: ...


def answer(turn: AnsweringTurn, question: Asked) -> None:
    """Say the answer to ``question`` (or that the bot cannot answer it, and who can)."""
    flows = turn.flows
    asked = flows.order.questions
    items = list(question.items)
    if not items and question.choices and turn.session.pending:
        items = [turn.session.pending[0].item]  # "¿cuánto más la de harina?" is about the line asked about
    subject = bool(items)
    chosen = next((i for i in question.questions if asked[i].topic is None), None)
    if chosen is None:
        for topic in question.topics:
            if topic == "item" and not subject:
                continue
            chosen = next((i for i in question.questions if asked[i].topic == topic), None)
            if chosen is not None:
                break
    if chosen is None and subject:
        chosen = next((i for i, q in enumerate(asked) if q.topic == "item"), None)
    if chosen is None:
        turn.say("answer_unknown")
        return
    turn.say(asked[chosen].say, extras(turn, items, question))


def extras(turn: AnsweringTurn, items: list[str], question: Asked) -> dict[str, Any]:
    menu = turn.flows.menu
    views = [answer_item_view(menu, menu.items[i], turn.overrides) for i in dict.fromkeys(items) if i in menu.items]
    choices = []
    for group_id, choice_id in question.choices:
        group = menu.options.get(group_id)
        choice = group.choice(choice_id) if group else None
        if choice is not None:
            price = menu.items[items[0]].choice_price(choice) if items else choice.price
            choices.append({"id": choice.id, "name": choice.name, "price": price})
    return {"items": views, "choices": choices}
