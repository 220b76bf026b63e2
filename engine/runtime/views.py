"""Items as messages see them: when the bot asks about one, and when it answers a question about it."""

from __future__ import annotations

from typing import Any

from engine.model.menu import Item, Menu
from engine.runtime.overrides import NO_OVERRIDES, Overrides


def item_view(item: Item) -> dict[str, Any]:
    """An item as the bot's questions name it ("¿Cuántas gringas?")."""
    return {"id": item.id, "name": item.name, "plural": item.plural, "feminine": item.feminine, "price": item.price,
            "description": item.description}


def answer_item_view(menu: Menu, item: Item, overrides: Overrides = NO_OVERRIDES) -> dict[str, Any]:
    """An item as an answer tells it: price, what it has, whether there is any today, its options."""
    options = []
    for group_id in item.options:
        group = menu.options.get(group_id)
        if group is not None:
            options.append({
                "id": group.id, "question": group.question,
                "choices": [{"id": c.id, "name": c.name, "price": item.choice_price(c)} for c in group.choices],
            })
    return {
        **item_view(item), "short_name": item.short_name, "available": overrides.available(item), "options": options,
    }
