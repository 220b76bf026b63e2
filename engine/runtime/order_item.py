"""The ``order_item`` step: items, quantities and options, in whatever way the customer says them.

"3 margarita grande orilla delgada", "2 horchatas y una coca", "margerita" (a typo), "dos",
"quitar margarita", "listo". What is named but incomplete waits in ``session.pending`` and is
asked about one question at a time. The words (numbers, "y", "quitar", "listo") are the
restaurant's language's.
"""

from __future__ import annotations

from typing import Any, Protocol

from engine.model.menu import Item, OptionGroup
from engine.model.session import Line, Session
from engine.model.steps import InputStep, OrderItemStep, Target
from engine.runtime import cart as carts
from engine.runtime.flows import Flows
from engine.runtime.overrides import Overrides
from engine.runtime.understand import (
    Match,
    best_matches,
    closest,
    is_bare_number,
    is_one_of,
    number_token,
    parse_number,
)


def item_view(item: Item) -> dict[str, Any]:
    """An item as messages see it."""
    return {"id": item.id, "name": item.name, "plural": item.plural, "feminine": item.feminine, "price": item.price}


class OrderingTurn(Protocol):
    """What the ``order_item`` step needs of the turn it runs in (``engine.runtime.handle.Turn``)."""

    flows: Flows
    overrides: Overrides
    session: Session
    text: str
    """What the customer typed, stripped."""
    norm: str
    """The same text normalised (``understand.normalise``)."""

    def say(self, key: str, extras: dict[str, Any] | None = None) -> None: ...

    def go(self, target: Target, from_step: str | None = None) -> None: ...

    def reask(self, prefix: str | None = "not_understood", step: InputStep | None = None) -> None: ...


class OrderTaking:
    def __init__(self, turn: OrderingTurn) -> None:
        self.turn = turn
        self.flows = turn.flows
        self.menu = turn.flows.menu

    # ------------------------------------------------------------ reading

    def names_an_item(self) -> bool:
        return bool(self.find_items(self.turn.norm))

    def find_items(self, norm: str) -> list[Line]:
        """Every item named in the text, with its quantity and options when given."""
        lines = []
        for segment in self.flows.compiled.separators.split(norm):
            tokens = segment.split()
            matches = sorted(best_matches(tokens, self.flows.compiled.item_phrases), key=lambda m: min(m.used))
            for index, match in enumerate(matches):
                end = min(matches[index + 1].used) if index + 1 < len(matches) else len(tokens)
                start = max(matches[index - 1].used) + 1 if index else 0
                lines.append(self.line_from(tokens, match, start, end))
        return lines

    def line_from(self, tokens: list[str], match: Match, start: int, end: int) -> Line:
        """Quantity: a number before the item (or after it); options: words around it."""
        item = self.menu.items[match.key]
        numbers = self.flows.restaurant.words.numbers
        first = min(match.used)
        quantity = None
        for position in [*range(first - 1, start - 1, -1), *range(max(match.used) + 1, end)]:
            if position not in match.used and (n := number_token(tokens[position], numbers)) is not None:
                quantity = n
                break
        around = tokens[start:end]  # the item's own words count too: "una coca" is a Coca-Cola
        options = {}
        for group_id in item.options:
            choice = self.choice_in(self.menu.options[group_id], around)
            if choice:
                options[group_id] = choice
        return Line(item.id, quantity, options)

    def choice_in(self, group: OptionGroup, tokens: list[str]) -> str | None:
        found = {m.key for m in best_matches(tokens, self.flows.compiled.choice_phrases(group))}
        return found.pop() if len(found) == 1 else None

    # ------------------------------------------------------------ the step

    def take(self, step: OrderItemStep) -> None:
        turn = self.turn
        if turn.session.pending:
            self.answer_pending(step)
            return
        words = self.flows.restaurant.words
        tokens = turn.norm.split()
        removal = next((phrase for phrase in words.remove if tuple(tokens[: len(phrase)]) == phrase), None)
        if removal is not None:
            self.remove(step, tokens[len(removal) :])
            return
        lines = self.find_items(turn.norm)
        if not lines:
            if is_one_of(turn.text, words.done) or is_one_of(turn.text, words.no):
                self.done(step)
            elif is_one_of(turn.text, words.yes):
                turn.say(step.ask)
            else:
                names = self.flows.compiled.item_names
                turn.say("item_unknown", {"suggestions": closest(turn.text, names) if turn.text else []})
            return
        self.queue(lines)
        self.settle(step)

    def queue(self, lines: list[Line]) -> None:
        """Put named items in line to be asked about; sold-out ones and too many get their message."""
        turn = self.turn
        for line in lines:
            item = self.menu.items[line.item]
            if not turn.overrides.available(item):
                turn.say("item_sold_out", {"item": self.item_view(line.item)})
                continue
            if line.quantity is not None and line.quantity > self.menu.max_quantity:
                turn.say("too_many", {"item": self.item_view(line.item), "quantity": line.quantity})
            if line.quantity is not None and not 1 <= line.quantity <= self.menu.max_quantity:
                line = Line(line.item, None, line.options)  # asked again
            turn.session = turn.session.evolve(pending=turn.session.pending + (line,))

    def done(self, step: OrderItemStep) -> None:
        if not self.turn.session.cart:
            self.turn.say("nothing_ordered")
            return
        self.turn.go(step.done, from_step=step.id)

    def remove(self, step: OrderItemStep, tokens: list[str]) -> None:
        """Take the items ``tokens`` name (what follows "quitar") out of the cart."""
        turn = self.turn
        named = {line.item for line in self.find_items(" ".join(tokens))}
        kept = tuple(line for line in turn.session.cart if line.item not in named)
        if not named or len(kept) == len(turn.session.cart):
            turn.reask()
            return
        turn.session = turn.session.evolve(cart=kept)
        for item_id in named:
            turn.say("item_removed", {"item": self.item_view(item_id)})

    def answer_pending(self, step: OrderItemStep) -> None:
        """The customer answers the open question about the first pending line."""
        turn = self.turn
        line = turn.session.pending[0]
        group = None if line.quantity is None else self.missing_group(line)
        choice = self.pick_choice(group, line) if group is not None else None
        named = [] if choice else self.find_items(turn.norm)
        if named:
            # "2 margarita" at "¿Cuántas pizzas margarita?" answers it; "1 flan" is one more item, not "1".
            same = next((n for n in named if n.item == line.item), None)
            if same is not None:
                quantity = same.quantity if same.quantity is not None else line.quantity
                line = Line(line.item, quantity, {**line.options, **same.options})
                turn.session = turn.session.evolve(pending=(line,) + turn.session.pending[1:])
                if quantity is not None and quantity > self.menu.max_quantity:
                    turn.session = turn.session.evolve(pending=turn.session.pending[1:])
                    self.queue([line])  # says "too many" and asks again
            self.queue([n for n in named if n is not same])
            self.settle(step)
            return
        if line.quantity is None:
            quantity = parse_number(turn.text, self.flows.restaurant.words.numbers)
            if quantity is None or quantity < 1:
                self.reask_pending()
                return
            if quantity > self.menu.max_quantity:
                turn.say("too_many", {"item": self.item_view(line.item), "quantity": quantity})
                self.ask_pending()
                return
            line = Line(line.item, quantity, line.options)
        else:
            assert group is not None  # a complete line never stays pending
            if choice is None:
                self.reask_pending()
                return
            line = Line(line.item, line.quantity, {**line.options, group.id: choice})
        turn.session = turn.session.evolve(pending=(line,) + turn.session.pending[1:])
        self.settle(step)

    def pick_choice(self, group: OptionGroup, line: Line) -> str | None:
        words = self.flows.restaurant.words
        if group.default and (is_one_of(self.turn.text, words.done) or is_one_of(self.turn.text, words.yes)):
            return group.default  # "listo" / "sí" at "¿Cómo la preparamos?": the usual way
        number = parse_number(self.turn.text, words.numbers)
        if number is not None and 1 <= number <= len(group.choices) and is_bare_number(self.turn.norm, words.numbers):
            return group.choices[number - 1].id
        return self.choice_in(group, self.turn.norm.split())

    def reask_pending(self) -> None:
        self.turn.say("not_understood")
        self.ask_pending()

    # ------------------------------------------------------------ finishing lines

    def missing_group(self, line: Line) -> OptionGroup | None:
        for group_id in self.menu.items[line.item].options:
            group = self.menu.options[group_id]
            if group_id not in line.options and (group.ask or group.default is None):
                return group
        return None

    def settle(self, step: OrderItemStep) -> None:
        """Move complete lines to the cart; ask about the first incomplete one."""
        turn = self.turn
        pending = list(turn.session.pending)
        added = False
        while pending and pending[0].quantity is not None and self.missing_group(pending[0]) is None:
            line = self.with_defaults(pending.pop(0))
            merged = carts.merge(turn.session.cart, line)
            if any((m.quantity or 0) > self.menu.max_quantity for m in merged):
                # Already near the limit: asking "how many?" again would only go round in circles.
                turn.say("too_many", {"item": self.item_view(line.item), "quantity": self.total_of(merged, line)})
                continue
            turn.session = turn.session.evolve(cart=merged, pending=tuple(pending))
            turn.say("item_added", {"line": carts.line_view(self.menu, line)})
            added = True
        turn.session = turn.session.evolve(pending=tuple(pending))
        if pending:
            self.ask_pending()
        elif added:
            turn.go(step.next, from_step=step.id)

    def with_defaults(self, line: Line) -> Line:
        options = dict(line.options)
        for group_id in self.menu.items[line.item].options:
            default = self.menu.options[group_id].default
            if group_id not in options and default:
                options[group_id] = default
        return Line(line.item, line.quantity, options)

    def total_of(self, cart: tuple[Line, ...], line: Line) -> int:
        return sum(m.quantity or 0 for m in cart if m.item == line.item and m.options == line.options)

    def ask_pending(self) -> None:
        turn = self.turn
        line = turn.session.pending[0]
        item = self.item_view(line.item)
        if line.quantity is None:
            turn.say("ask_quantity", {"item": item})
            return
        group = self.missing_group(line)
        assert group is not None
        product = self.menu.items[line.item]
        choices = [{"id": c.id, "name": c.name, "price": product.choice_price(c)} for c in group.choices]
        turn.say("ask_option", {"item": item, "option": {"id": group.id, "question": group.question}, "choices": choices})

    def item_view(self, item_id: str) -> dict[str, Any]:
        return item_view(self.menu.items[item_id])
