"""Changing lines already there, in words: which lines an edit points at, and the lines after it.

Pure functions over tuples of ``Line`` (the cart, or the lines still being asked about). A line
that ends up with the same item and options as another is merged into it, as adding would.
"""

from __future__ import annotations

from engine.model.menu import Menu
from engine.model.session import Line
from engine.runtime.acts import Ref

Lines = tuple[Line, ...]


def same(a: Line, b: Line | None) -> bool:
    """The same item with the same options (quantities aside)."""
    return b is not None and a.item == b.item and a.options == b.options


def find(lines: Lines, ref: Ref, last: Line | None = None, group: str | None = None, menu: Menu | None = None) -> list[int]:
    """Positions of the lines ``ref`` points at. Nothing named: the lines that could be meant (those
    with option ``group`` when one is given), or the last line touched when several could."""
    if ref.item is not None:
        return [i for i, line in enumerate(lines) if line.item == ref.item]
    if ref.candidates:
        return [i for i, line in enumerate(lines) if line.item in ref.candidates]
    positions = list(range(len(lines)))
    if group is not None and menu is not None:
        positions = [i for i in positions if group in menu.items[lines[i].item].options]
    return positions


def last_of(lines: Lines, positions: list[int], last: Line | None) -> int | None:
    """Of several lines, the one last touched (None when it is not among them)."""
    return next((i for i in positions if same(lines[i], last)), None)


def merged(lines: Lines, index: int) -> tuple[Lines, int]:
    """The line at ``index`` added up with an equal line before or after it, if any."""
    line = lines[index]
    for other, existing in enumerate(lines):
        if other != index and same(existing, line):
            total = Line(line.item, (existing.quantity or 0) + (line.quantity or 0), dict(line.options))
            kept = [l for i, l in enumerate(lines) if i not in (index, other)]
            at = min(index, other)
            kept.insert(at, total)
            return tuple(kept), at
    return lines, index


def remove(lines: Lines, index: int, quantity: int | None) -> Lines:
    """The line gone, or ``quantity`` fewer of it (gone when that is all of it)."""
    line = lines[index]
    if quantity is None or line.quantity is None or quantity >= line.quantity:
        return lines[:index] + lines[index + 1 :]
    return lines[:index] + (Line(line.item, line.quantity - quantity, dict(line.options)),) + lines[index + 1 :]


def with_quantity(lines: Lines, index: int, quantity: int) -> Lines:
    line = lines[index]
    return lines[:index] + (Line(line.item, quantity, dict(line.options)),) + lines[index + 1 :]


def with_option(lines: Lines, index: int, group: str, choice: str) -> tuple[Lines, int]:
    line = lines[index]
    changed = Line(line.item, line.quantity, {**line.options, group: choice})
    return merged(lines[:index] + (changed,) + lines[index + 1 :], index)


def replaced(menu: Menu, line: Line, item: str, quantity: int | None, options: dict[str, str]) -> Line:
    """``line`` as another item: its quantity unless a new one is said, and the options both share."""
    groups = menu.items[item].options
    kept = {g: c for g, c in line.options.items() if g in groups}
    return Line(item, quantity if quantity is not None else line.quantity, {**kept, **options})


def split(line: Line, parts: list[tuple[int | None, dict[str, str]]]) -> Lines | None:
    """``line`` cut into parts of given quantities (one part may be None: the rest), each with its
    own options; None when the quantities do not add up to the line's."""
    if line.quantity is None:
        return None
    known = sum(q for q, _ in parts if q is not None)
    rest = [i for i, (q, _) in enumerate(parts) if q is None]
    if len(rest) > 1 or known > line.quantity or (not rest and known != line.quantity):
        return None
    pieces = []
    for quantity, options in parts:
        count = quantity if quantity is not None else line.quantity - known
        if count <= 0:
            return None
        pieces.append(Line(line.item, count, {**line.options, **options}))
    return tuple(pieces)
