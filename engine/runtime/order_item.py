"""The ``order_item`` step: items, quantities and options, and changes to what is already there.

The message has been read once into acts (``engine.runtime.reading``); here they meet the cart
and the lines still being asked about (``session.pending``): "3 pastor de harina" adds a line,
"de harina" answers the question about the pending line, "quita una horchata" takes one off the
cart, "cámbiala por una gringa" replaces the line last touched. A name that fits several items
("una quesadilla") or an edit that fits several lines ("quítale uno") gets a "which one?" that
the next message answers (``session.which``). What the bot cannot tell, it asks; it never guesses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from engine.model.menu import OptionGroup
from engine.model.session import Line, Session, Which
from engine.model.steps import InputStep, OrderItemStep, Target
from engine.runtime import acts as a
from engine.runtime import cart as carts
from engine.runtime import edits
from engine.runtime.flows import Flows
from engine.runtime.overrides import Overrides
from engine.runtime.understand import closest
from engine.runtime.views import answer_item_view, item_view


class OrderingTurn(Protocol):
    """What the ``order_item`` step needs of the turn it runs in (``engine.runtime.handle.Turn``)."""

    flows: Flows
    overrides: Overrides
    session: Session
    text: str
    """What the customer typed, stripped."""
    reading: a.Reading
    """The message read once."""
    acts: list[a.Act]
    """Its acts not yet used by the turn (commands and questions are)."""
    answered: bool
    """Something was already said this turn (an answer, the menu): no "no te entendí" then."""

    def say(self, key: str, extras: dict[str, Any] | None = None) -> None: ...

    def go(self, target: Target, from_step: str | None = None) -> None: ...

    def reask(self, prefix: str | None = "not_understood", step: InputStep | None = None) -> None: ...

    def save_ahead(self, acts: Sequence[a.Act], here: str | None) -> bool: ...


class OrderTaking:
    def __init__(self, turn: OrderingTurn) -> None:
        self.turn = turn
        self.flows = turn.flows
        self.menu = turn.flows.menu
        self.added: list[Line] = []
        """Lines that reached the cart this turn: one "Agregué…" for all of them."""
        self.asked_which = False
        self.was_asking = bool(turn.session.pending)
        """A line was being asked about when the message came: a new one waits its turn, and says so."""

    # ------------------------------------------------------------ the step

    def take(self, step: OrderItemStep) -> None:
        turn = self.turn
        acts = list(turn.acts)
        if turn.session.which is not None:
            if self.answer_which(step, acts):
                return
            turn.session = turn.session.evolve(which=None)
        if turn.session.pending:
            self.answer_pending(step, acts)
            return
        self.take_free(step, acts)

    def take_free(self, step: OrderItemStep, acts: Sequence[a.Act]) -> None:
        """No question open: add, change, finish."""
        turn = self.turn
        reading = turn.reading
        done = any(isinstance(x, a.Intent) and x.name == "done" for x in acts)
        adds = [x for x in acts if isinstance(x, a.AddLine)]
        if any(isinstance(x, a.Unclear) for x in acts):
            # "sin queso", "sin hielo": an exception the menu has no choice for. Adding the item
            # without it would be a wrong order: ask again instead.
            turn.reask()
            return
        did = False
        lines: list[Line] = []
        for act in acts:
            if isinstance(act, a.AddLine):
                if reading.rather and turn.session.cart and not act.explicit and len(adds) == 1:
                    did = self.edit(a.Replace(a.IT, act.item, (), act.quantity, act.options, act.words)) or did
                elif act.definite and act.options and any(line.item == act.item for line in turn.session.cart):
                    for group, choice in act.options.items():
                        did = self.edit(a.Choose(group, choice, None, act.words, False, a.Ref(act.item))) or did
                else:
                    lines.append(Line(act.item, act.quantity, dict(act.options)))
            elif isinstance(act, a.Unsure):
                self.ask_which_item(act)
                did = True
            elif isinstance(act, a.Choose) and lines and not act.ref.said and self.fits(lines[-1], act.group):
                continue  # "3 pastor, 2 de harina y uno de maíz": for the line just named, below
            elif isinstance(act, (a.Remove, a.Replace, a.SetQuantity, a.More, a.Choose)):
                did = self.edit(act) or did
            elif isinstance(act, a.Number) and reading.rather and not adds and not reading.has(*a.EDITS):
                did = self.edit(a.SetQuantity(a.IT, act.value, act.words)) or did
        said_after = [x for x in acts if isinstance(x, a.Choose) and not x.ref.said]
        if lines and said_after:
            chosen = [self.for_line(lines[-1], None, x) for x in said_after]
            chosen = [x for x in chosen if self.fits(lines[-1], x.group)]
            split = self.apply_choices(lines[-1], chosen) if chosen else None
            if split is not None:
                lines[-1:] = list(split)
            elif chosen:
                turn.say("not_understood")  # the parts do not add up to what was asked: asked again below
        if lines:
            self.queue(lines)
            did = True
        ahead = turn.save_ahead(acts, step.id)
        if ahead and not lines and not did and turn.session.cart and not turn.session.pending:
            done = True  # "yo paso por ellos": the order is over, and its next answer given
        if done:
            if turn.session.pending:
                turn.session = turn.session.evolve(finishing=True)
            else:
                self.settle(step, finish=False)
                self.done(step)
                return
        if did or lines or self.asked_which:
            self.settle(step)
            return
        if ahead:
            turn.reask(prefix=None)
            return
        self.nothing(step, acts)

    def nothing(self, step: OrderItemStep, acts: Sequence[a.Act]) -> None:
        """A message that adds or changes nothing."""
        turn = self.turn
        kinds = [x for x in acts if not isinstance(x, a.Intent) or x.name not in ("unsure",)]
        if len(kinds) == 1 and isinstance(kinds[0], a.YesNo) and not turn.reading.leftover:
            if kinds[0].value:
                turn.say(step.ask)  # "sí": what would you like, then?
            else:
                self.done(step)  # "no" to "¿Algo más?"
            return
        if turn.answered or any(isinstance(x, (a.Intent, a.AnyChoice, a.Pick)) for x in acts):
            turn.reask(prefix=None if turn.answered else "not_understood")
            return
        names = self.flows.compiled.item_names
        words = " ".join(turn.reading.leftover) or turn.text
        turn.say("item_unknown", {"suggestions": closest(words, names) if words else []})

    def done(self, step: OrderItemStep) -> None:
        turn = self.turn
        turn.session = turn.session.evolve(finishing=False)
        if not turn.session.cart:
            turn.say("nothing_ordered")
            return
        turn.go(step.done, from_step=step.id)

    # ------------------------------------------------------------ new lines

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
            if line.quantity == 0:
                turn.say("not_understood")  # "0 pastor": none to add, and no question to ask about them
                turn.say(self.turn.flows.order.steps[turn.session.step].ask)  # type: ignore[index, union-attr]
                continue
            if line.quantity is not None and not 1 <= line.quantity <= self.menu.max_quantity:
                line = Line(line.item, None, line.options)  # asked again
            if self.was_asking and turn.session.pending and (line.quantity is None or self.missing_group(line)):
                turn.say("item_queued", {"item": self.item_view(line.item)})
            turn.session = turn.session.evolve(pending=turn.session.pending + (line,))

    def ask_which_item(self, act: a.Unsure, kind: str = "add", line: int | None = None) -> None:
        """ "¿Cuál quesadilla?": the candidates named, the question remembered for the answer."""
        available = [c for c in act.candidates if self.turn.overrides.available(self.menu.items[c])] or list(act.candidates)
        if len(available) == 1 and kind == "add":
            self.queue([Line(available[0], act.quantity, dict(act.options))])
            return
        which = Which(kind, tuple(available), act.quantity, line, (), dict(act.options))
        self.turn.session = self.turn.session.evolve(which=which)
        views = [answer_item_view(self.menu, self.menu.items[c], self.turn.overrides) for c in available]
        self.turn.say("which_item", {"items": views, "quantity": act.quantity})
        self.asked_which = True

    def answer_which(self, step: OrderItemStep, acts: list[a.Act]) -> bool:
        """The answer to "¿cuál?", if this message is one (else the question is dropped)."""
        turn = self.turn
        which = turn.session.which
        assert which is not None
        chosen: list[tuple[str, int | None, dict[str, str]]] = []
        if which.kind == "line":
            return self.answer_which_line(step, which, acts)
        for act in acts:
            if isinstance(act, a.AddLine) and act.item in which.candidates:
                chosen.append((act.item, act.quantity, act.options))
            elif isinstance(act, (a.Pick, a.Number)) and len(acts) == 1:
                number = act.position if isinstance(act, a.Pick) else act.value
                if 1 <= number <= len(which.candidates):
                    chosen.append((which.candidates[number - 1], None, {}))
            elif isinstance(act, a.Each) and which.kind == "add":
                count = len(which.candidates)
                each = (which.quantity or count) // count if which.quantity in (None, count) else None
                if each:
                    chosen.extend((c, each, {}) for c in which.candidates)
        if not chosen:
            return False
        turn.session = turn.session.evolve(which=None)
        if which.kind == "replace" and which.line is not None and which.line < len(turn.session.cart):
            item, quantity, options = chosen[0]
            self.edit(a.Replace(a.IT, item, (), quantity, options, ""), index=which.line)
            self.settle(step)
            return True
        lines = []
        for item, quantity, options in chosen:
            how_many = quantity if quantity is not None else which.quantity if len(chosen) == 1 else None
            groups = self.menu.items[item].options
            lines.append(Line(item, how_many, {g: c for g, c in {**which.options, **options}.items() if g in groups}))
        self.queue(lines)
        others = [x for x in acts if not isinstance(x, (a.AddLine, a.Pick, a.Number, a.Each))]
        if others:
            self.take_free(step, others)
        else:
            self.settle(step)
        return True

    def answer_which_line(self, step: OrderItemStep, which: Which, acts: list[a.Act]) -> bool:
        turn = self.turn
        cart = turn.session.cart
        positions = [int(c) for c in which.candidates if int(c) < len(cart)]
        picked: int | None = None
        for act in acts:
            item = act.item if isinstance(act, a.AddLine) else act.ref.item if isinstance(act, a.Remove | a.SetQuantity | a.More) else None
            if item is not None:
                found = [p for p in positions if cart[p].item == item]
                if len(found) == 1:
                    picked = found[0]
            elif isinstance(act, (a.Pick, a.Number)) and len(acts) == 1:
                number = act.position if isinstance(act, a.Pick) else act.value
                if 1 <= number <= len(positions):
                    picked = positions[number - 1]
        if picked is None:
            return False
        turn.session = turn.session.evolve(which=None)
        verb, *rest = which.edit
        amount = int(rest[0]) if rest and rest[0] else None
        if verb == "remove":
            self.edit(a.Remove(a.IT, amount, ""), index=picked)
        elif verb == "quantity" and amount is not None:
            self.edit(a.SetQuantity(a.IT, amount, ""), index=picked)
        elif verb == "more" and amount is not None:
            self.edit(a.More(a.IT, amount, ""), index=picked)
        elif verb == "option" and len(rest) >= 2:
            self.edit(a.Choose(rest[0], rest[1], int(rest[2]) if len(rest) > 2 and rest[2] else None, ""), index=picked)
        self.settle(step)
        return True

    # ------------------------------------------------------------ changing lines

    def edit(self, act: a.Act, index: int | None = None) -> bool:
        """Apply an edit to the cart (or ask which line); False when it points at nothing there."""
        turn = self.turn
        cart = turn.session.cart
        if index is None:
            group = act.group if isinstance(act, a.Choose) else None
            ref: a.Ref = getattr(act, "ref", a.IT)
            positions = edits.find(cart, ref, turn.session.last, group, self.menu)
            if not positions:
                return self.edit_missing(act)
            if len(positions) > 1:
                if isinstance(act, a.Remove) and ref.item is not None and act.quantity is None:
                    for position in reversed(positions):  # "sin los de pastor": every line of them
                        self.remove_at(position, None)
                    return True
                last = edits.last_of(cart, positions, turn.session.last)
                if last is not None and isinstance(act, (a.More, a.Replace)):
                    positions = [last]
                elif isinstance(act, a.Choose) and act.quantity is None and ref.item is not None:
                    for position in positions:
                        self.option_at(position, act.group, act.choice)
                    return True
                else:
                    self.ask_which_line(act, positions)
                    return True
            index = positions[0]
        if isinstance(act, a.Remove):
            self.remove_at(index, act.quantity)
        elif isinstance(act, a.SetQuantity):
            self.quantity_at(index, act.quantity)
        elif isinstance(act, a.More):
            self.quantity_at(index, (cart[index].quantity or 0) + act.quantity)
        elif isinstance(act, a.Choose):
            if act.quantity is not None and act.quantity < (cart[index].quantity or 0):
                self.split_at(index, act)
            else:
                self.option_at(index, act.group, act.choice)
        elif isinstance(act, a.Replace):
            if act.item is None and act.candidates:
                self.ask_which_item(a.Unsure(act.candidates, act.quantity, act.options, act.words), "replace", index)
                return True
            if act.item is None:
                return False
            self.replace_at(index, act.item, act.quantity, act.options)
        return True

    def edit_missing(self, act: a.Act) -> bool:
        """An edit of an item the cart does not have: "otro de suadero" adds one, "quita la torta" says so."""
        if isinstance(act, a.More) and act.ref.item is not None:
            self.queue([Line(act.ref.item, act.quantity, {})])
            return True
        if isinstance(act, a.SetQuantity) and act.ref.item is not None:
            self.queue([Line(act.ref.item, act.quantity, {})])
            return True
        if isinstance(act, a.More) and act.ref.candidates:
            self.ask_which_item(a.Unsure(act.ref.candidates, act.quantity, {}, act.words))
            return True
        if isinstance(act, a.Remove) and act.ref.said:
            self.turn.say("not_in_cart", {"text": act.words})
            return True
        return False

    def ask_which_line(self, act: a.Act, positions: list[int]) -> None:
        if isinstance(act, a.Remove):
            edit: tuple[str, ...] = ("remove", "" if act.quantity is None else str(act.quantity))
        elif isinstance(act, a.SetQuantity):
            edit = ("quantity", str(act.quantity))
        elif isinstance(act, a.More):
            edit = ("more", str(act.quantity))
        elif isinstance(act, a.Choose):
            edit = ("option", act.group, act.choice, "" if act.quantity is None else str(act.quantity))
        else:
            edit = ("replace",)
        turn = self.turn
        turn.session = turn.session.evolve(which=Which("line", tuple(str(p) for p in positions), None, None, edit))
        views = [carts.line_view(self.menu, turn.session.cart[p]) for p in positions]
        turn.say("which_line", {"lines": views})
        self.asked_which = True

    def remove_at(self, index: int, quantity: int | None) -> None:
        turn = self.turn
        line = turn.session.cart[index]
        cart = edits.remove(turn.session.cart, index, quantity)
        turn.session = turn.session.evolve(cart=cart)
        if quantity is None or line.quantity is None or quantity >= line.quantity:
            turn.say("item_removed", {"item": self.item_view(line.item)})
        else:
            self.changed(cart[index], line)

    def quantity_at(self, index: int, quantity: int) -> None:
        turn = self.turn
        line = turn.session.cart[index]
        if quantity <= 0:
            self.remove_at(index, None)
            return
        if quantity > self.menu.max_quantity:
            turn.say("too_many", {"item": self.item_view(line.item), "quantity": quantity})
            return
        cart = edits.with_quantity(turn.session.cart, index, quantity)
        turn.session = turn.session.evolve(cart=cart, last=Line(line.item, None, dict(line.options)))
        self.changed(cart[index], line)

    def option_at(self, index: int, group: str, choice: str) -> None:
        turn = self.turn
        line = turn.session.cart[index]
        if group not in self.menu.items[line.item].options:
            return
        cart, at = edits.with_option(turn.session.cart, index, group, choice)
        turn.session = turn.session.evolve(cart=cart, last=Line(cart[at].item, None, dict(cart[at].options)))
        self.changed(cart[at], line)

    def split_at(self, index: int, act: a.Choose) -> None:
        turn = self.turn
        line = turn.session.cart[index]
        assert act.quantity is not None and line.quantity is not None
        rest = Line(line.item, line.quantity - act.quantity, dict(line.options))
        part = Line(line.item, act.quantity, {**line.options, act.group: act.choice})
        cart = turn.session.cart[:index] + (rest,) + turn.session.cart[index + 1 :]
        turn.session = turn.session.evolve(cart=carts.merge(cart, part), last=Line(part.item, None, dict(part.options)))
        self.changed(part, Line(line.item, act.quantity, dict(line.options)))

    def replace_at(self, index: int, item: str, quantity: int | None, options: dict[str, str]) -> None:
        turn = self.turn
        line = turn.session.cart[index]
        if not turn.overrides.available(self.menu.items[item]):
            turn.say("item_sold_out", {"item": self.item_view(item)})
            return
        new = edits.replaced(self.menu, line, item, quantity, options)
        cart = turn.session.cart[:index] + turn.session.cart[index + 1 :]
        if self.missing_group(new) is not None:  # the new item has its own questions
            turn.session = turn.session.evolve(cart=cart, pending=(new,) + turn.session.pending)
            turn.say("item_removed", {"item": self.item_view(line.item)})
            return
        new = self.with_defaults(new)
        cart = cart[:index] + (new,) + cart[index:]
        cart, at = edits.merged(cart, index)
        turn.session = turn.session.evolve(cart=cart, last=Line(new.item, None, dict(new.options)))
        self.changed(cart[at], line)

    def changed(self, line: Line, was: Line) -> None:
        self.turn.say("item_changed", {"line": carts.line_view(self.menu, line), "was": carts.describe(self.menu, was)})

    # ------------------------------------------------------------ the line being asked about

    def answer_pending(self, step: OrderItemStep, acts: list[a.Act]) -> None:
        """The customer answers the open question about the first pending line (or says something else)."""
        turn = self.turn
        line = turn.session.pending[0]
        group = None if line.quantity is None else self.missing_group(line)
        rather = turn.reading.rather
        answered = False
        others: list[a.Act] = []
        same_item = [x for x in acts if isinstance(x, a.AddLine) and x.item == line.item and not x.explicit]
        choose = [self.for_line(line, group, x) for x in acts if isinstance(x, a.Choose) and not x.ref.said]
        choose = [x for x in choose if self.fits(line, x.group)]
        if group is not None and (same_item or choose) and not rather and self.unexplained():
            self.reask_pending()  # "coca light": there is no light, ask rather than pick Coca-Cola
            return
        for act in acts:
            if isinstance(act, a.AddLine) and act in same_item:
                continue
            if isinstance(act, a.Choose) and not act.ref.said and any(x.words == act.words for x in choose):
                continue
            if isinstance(act, a.AddLine) and rather and not act.explicit and len([x for x in acts if isinstance(x, a.AddLine)]) == 1:
                line = edits.replaced(self.menu, line, act.item, act.quantity, act.options)  # "no, de suadero"
                answered = True
            elif isinstance(act, (a.SetQuantity, a.Number)) and (rather or isinstance(act, a.SetQuantity)) and self.points_here(act, line):
                quantity = act.quantity if isinstance(act, a.SetQuantity) else act.value
                if quantity == 0:
                    self.drop_pending(step)
                    return
                line = Line(line.item, quantity, line.options)
                answered = True
            elif isinstance(act, a.Replace) and self.points_here(act, line) and act.item is not None:
                line = edits.replaced(self.menu, line, act.item, act.quantity, act.options)
                answered = True
            elif isinstance(act, a.Replace) and self.points_here(act, line) and act.candidates:
                turn.session = turn.session.evolve(pending=turn.session.pending[1:])
                self.ask_which_item(a.Unsure(act.candidates, act.quantity or line.quantity, act.options, act.words))
                self.settle(step)
                return
            elif isinstance(act, a.Remove) and self.points_here(act, line):
                self.drop_pending(step)
                return
            else:
                others.append(act)
        if same_item:
            answered = True
            parts = [(x.quantity, x.options) for x in same_item]
            pieces = edits.split(line, parts) if len(parts) > 1 or (parts[0][0] not in (None, line.quantity) and parts[0][1]) else None
            if len(parts) > 1 and pieces is None:
                self.reask_pending()
                return
            if pieces is not None:
                turn.session = turn.session.evolve(pending=pieces + turn.session.pending[1:])
                self.after_answer(step, others)
                return
            said = parts[0][0] if parts[0][0] is not None else line.quantity
            line = Line(line.item, said, {**line.options, **parts[0][1]})
            if said is not None and said > self.menu.max_quantity:
                turn.say("too_many", {"item": self.item_view(line.item), "quantity": said})
                line = Line(line.item, None, line.options)
        if choose:
            answered = True
            result = self.apply_choices(line, choose)
            if result is None:
                self.reask_pending()
                return
            turn.session = turn.session.evolve(pending=result + turn.session.pending[1:])
            self.after_answer(step, others)
            return
        if not answered and line.quantity is None:
            numbers = [x for x in others if isinstance(x, a.Number)]
            if len(numbers) == 1:
                others.remove(numbers[0])
                quantity = numbers[0].value
                if quantity == 0:
                    self.reask_pending()  # "0": how many, then? ("ninguno" drops the line)
                    return
                if quantity > self.menu.max_quantity:
                    turn.say("too_many", {"item": self.item_view(line.item), "quantity": quantity})
                    self.ask_pending()
                    return
                line = Line(line.item, quantity, line.options)
                answered = True
        elif not answered and group is not None:
            choice = self.pick_choice(group, others)
            if choice == "":
                self.reask_pending()
                return
            if choice is not None:
                line = Line(line.item, line.quantity, {**line.options, group.id: choice})
                answered = True
        if answered:
            turn.session = turn.session.evolve(pending=(line,) + turn.session.pending[1:])
            self.after_answer(step, others)
            return
        if others and self.handles(others):
            self.take_free(step, others)
            return
        if turn.answered:
            self.ask_pending()
            return
        self.reask_pending()

    def for_line(self, line: Line, asked: OptionGroup | None, act: a.Choose) -> a.Choose:
        """Of the choices the same words name ("normal"), the one for the question being asked."""
        options = [(act.group, act.choice), *act.alternatives]
        fitting = [o for o in options if self.fits(line, o[0])]
        best = next((o for o in fitting if asked is not None and o[0] == asked.id), None)
        best = best or next((o for o in fitting if o[0] not in line.options), None) or (fitting or options)[0]
        return a.Choose(best[0], best[1], act.quantity, act.words, act.rest, act.ref)

    def unexplained(self) -> bool:
        return any(w not in self.flows.compiled.lexicon.known for w in self.turn.reading.leftover)

    def after_answer(self, step: OrderItemStep, others: list[a.Act]) -> None:
        """The pending line answered: the rest of the message ("maíz, y agrégame una coca") goes on."""
        useful = [x for x in others if not isinstance(x, (a.YesNo, a.Number, a.Pick, a.AnyChoice))]
        done = any(isinstance(x, a.Intent) and x.name == "done" for x in useful)
        if done:
            self.turn.session = self.turn.session.evolve(finishing=True)
        rest = [x for x in useful if not (isinstance(x, a.Intent) and x.name == "done")]
        if rest:
            self.take_free_quietly(step, rest)
        self.settle(step)

    def take_free_quietly(self, step: OrderItemStep, acts: Sequence[a.Act]) -> None:
        """Items and edits said along with an answer: queued or applied, without a re-ask of their own."""
        lines = []
        for act in acts:
            if isinstance(act, a.AddLine):
                lines.append(Line(act.item, act.quantity, dict(act.options)))
            elif isinstance(act, a.Unsure):
                self.ask_which_item(act)
            elif isinstance(act, (a.Remove, a.Replace, a.SetQuantity, a.More, a.Choose)):
                self.edit(act)
        if lines:
            self.queue(lines)
        self.turn.save_ahead(acts, step.id)

    def handles(self, acts: list[a.Act]) -> bool:
        return any(isinstance(x, (a.AddLine, a.Unsure, a.Remove, a.Replace, a.SetQuantity, a.More, a.StepChoice,
                                  a.Name)) for x in acts)

    def points_here(self, act: a.Act, line: Line) -> bool:
        ref: a.Ref = getattr(act, "ref", a.IT)
        if not ref.said:
            return True
        return ref.item == line.item or line.item in ref.candidates

    def fits(self, line: Line, group: str) -> bool:
        return group in self.menu.items[line.item].options

    def drop_pending(self, step: OrderItemStep) -> None:
        turn = self.turn
        line = turn.session.pending[0]
        turn.session = turn.session.evolve(pending=turn.session.pending[1:])
        turn.say("item_removed", {"item": self.item_view(line.item)})
        self.settle(step)

    def apply_choices(self, line: Line, chosen: list[a.Choose]) -> tuple[Line, ...] | None:
        """Option choices for the pending line: all of it, or split by quantities ("3 con harina y 2 de maíz")."""
        by_group: dict[str, list[a.Choose]] = {}
        for act in chosen:
            by_group.setdefault(act.group, []).append(act)
        result: tuple[Line, ...] = (line,)
        for group, acts in by_group.items():
            distinct = {x.choice for x in acts}
            default = self.menu.options[group].default
            if len(distinct) == 2 and default in distinct and all(x.quantity is None for x in acts):
                acts = [x for x in acts if x.choice != default]  # "con todo pero sin cebolla": the exception
                distinct = {x.choice for x in acts}
            if len(acts) == 1 or len(distinct) == 1 and all(x.quantity is None for x in acts):
                act = acts[0]
                if act.quantity is not None and line.quantity is not None and act.quantity < line.quantity:
                    return None  # "2 de harina" of 5: and the others?
                result = tuple(Line(l.item, l.quantity, {**l.options, group: act.choice}) for l in result)
                continue
            if len(result) > 1 or any(x.quantity is None and not x.rest for x in acts):
                return None  # "sin cebolla y sin cilantro": which one?
            pieces = edits.split(result[0], [(x.quantity, {group: x.choice}) for x in acts])
            if pieces is None:
                return None
            result = pieces
        return result

    def pick_choice(self, group: OptionGroup, acts: list[a.Act]) -> str | None:
        """The choice for ``group`` said some other way: by its number, "la que sea", "listo"; "" when
        the answer cannot be used (ask again); None when there is none."""
        turn = self.turn
        kinds = [x for x in acts if not isinstance(x, a.Intent) or x.name == "done"]
        for act in kinds:
            if isinstance(act, a.Pick) or (isinstance(act, a.Number) and len(kinds) == 1 and not turn.reading.leftover):
                number = act.position if isinstance(act, a.Pick) else act.value
                return group.choices[number - 1].id if 1 <= number <= len(group.choices) else ""
            if isinstance(act, a.AnyChoice):
                return self.usual(group) or ""
            if isinstance(act, a.Unclear):
                return ""
        done = any(isinstance(x, a.Intent) and x.name == "done" for x in acts)
        if done and self.usual(group):
            turn.session = turn.session.evolve(finishing=True)
            return self.usual(group)  # "listo" at "¿Cómo los preparamos?": the usual way, and that is all
        if group.default and any(isinstance(x, a.YesNo) and x.value for x in acts):
            return group.default  # "sí" to "¿Con todo?": the default; "sí" to "¿Maíz o harina?" says nothing
        return None

    def usual(self, group: OptionGroup) -> str | None:
        """What "la que sea" picks: the default, or the choice the menu calls the usual one."""
        return group.default or self.flows.compiled.lexicon.usual.get(group.id)

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

    def settle(self, step: OrderItemStep, finish: bool = True, ask: bool = True) -> None:
        """Move complete lines to the cart (saying so once); ask about the first incomplete one."""
        turn = self.turn
        pending = list(turn.session.pending)
        waiting: list[Line] = []
        for line in pending:
            if line.quantity is None or self.missing_group(line) is not None:
                waiting.append(line)
                continue
            line = self.with_defaults(line)
            merged = carts.merge(turn.session.cart, line)
            if any((m.quantity or 0) > self.menu.max_quantity for m in merged):
                # Already near the limit: asking "how many?" again would only go round in circles.
                turn.say("too_many", {"item": self.item_view(line.item), "quantity": self.total_of(merged, line)})
                continue
            turn.session = turn.session.evolve(cart=merged, last=Line(line.item, None, dict(line.options)))
            self.added.append(line)
        turn.session = turn.session.evolve(pending=tuple(waiting))
        if self.added:
            added, self.added = self.added, []
            if len(added) == 1:
                turn.say("item_added", {"line": carts.line_view(self.menu, added[0])})
            else:
                turn.say("lines_added", {"lines": [carts.line_view(self.menu, line) for line in added]})
        if turn.session.which is not None or not ask:
            return
        if waiting:
            self.ask_pending()
        elif finish and turn.session.finishing:
            self.done(step)

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
        turn.say("ask_option", {"item": item, "option": {"id": group.id, "question": group.question}, "choices": choices,
                                "quantity": line.quantity})

    def item_view(self, item_id: str) -> dict[str, Any]:
        return item_view(self.menu.items[item_id])
