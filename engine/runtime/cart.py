"""Prices, exactly: integer amounts, options and delivery rules as the flows say, and how amounts are written."""

from __future__ import annotations

from typing import Any

from engine.model.menu import Menu
from engine.model.order import describe_line
from engine.model.restaurant import Money, Restaurant
from engine.model.session import Line


def unit_price(menu: Menu, line: Line) -> int:
    item = menu.items[line.item]
    extra = 0
    for group_id, choice_id in line.options.items():
        choice = menu.options[group_id].choice(choice_id)
        if choice is not None:
            extra += item.choice_price(choice)
    return item.price + extra


def option_names(menu: Menu, line: Line) -> list[str]:
    """The chosen options worth saying: a group's default goes without saying."""
    names = []
    item = menu.items[line.item]
    for group_id in item.options:
        group = menu.options.get(group_id)
        if group is None:  # only while validating a menu that names an unknown group
            continue
        choice_id = line.options.get(group_id)
        choice = group.choice(choice_id) if choice_id else None
        if choice is not None and choice.id != group.default:
            names.append(choice.name)
    return names


def describe(menu: Menu, line: Line) -> str:
    """ "3 × Pizza margarita (grande, orilla delgada)"."""
    return describe_line(line.quantity or 1, menu.items[line.item].name, option_names(menu, line))


def line_view(menu: Menu, line: Line) -> dict[str, Any]:
    price = unit_price(menu, line)
    quantity = line.quantity or 1
    name = menu.items[line.item].name
    options = option_names(menu, line)
    return {
        "item": line.item,
        "name": name,
        "quantity": quantity,
        "options": options,
        "choices": dict(line.options),
        "unit_price": price,
        "total": price * quantity,
        "description": describe_line(quantity, name, options),  # as ``describe`` says it
    }


def cart_view(menu: Menu, lines: tuple[Line, ...]) -> dict[str, Any]:
    views = [line_view(menu, line) for line in lines]
    return {
        "lines": views,
        "subtotal": sum(v["total"] for v in views),
        "count": sum(v["quantity"] for v in views),
        "empty": not views,
        "pending": 0,
    }


def delivery_fee(restaurant: Restaurant, subtotal: int, fulfilment: str | None) -> int:
    if fulfilment != "delivery" or subtotal >= restaurant.delivery.free_from:
        return 0
    return restaurant.delivery.fee


def merge(cart: tuple[Line, ...], line: Line) -> tuple[Line, ...]:
    """Add ``line``; the same item with the same options adds up on one line."""
    for index, existing in enumerate(cart):
        if existing.item == line.item and existing.options == line.options:
            total = (existing.quantity or 0) + (line.quantity or 0)
            return cart[:index] + (Line(line.item, total, dict(line.options)),) + cart[index + 1 :]
    return cart + (line,)


def format_money(amount: int, money: Money) -> str:
    """``1234`` -> "$1,234"; with two decimals "$12.34"; after the amount "1.234 €"."""
    whole, cents = divmod(abs(amount), 10**money.decimals)
    text = f"{whole:,}".replace(",", money.thousands)
    if money.decimals:
        text += f"{money.decimal}{cents:0{money.decimals}d}"
    sign = "-" if amount < 0 else ""
    return f"{sign}{text} {money.symbol}" if money.symbol_after else f"{sign}{money.symbol}{text}"
