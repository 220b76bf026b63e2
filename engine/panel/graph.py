"""The order flow as a graph: its steps, where each goes next (conditions, choices, yes/no) and
the global commands, drawn from the loaded flows.

``flow_graph`` extracts nodes and edges; ``render_graph(flows, "mermaid" | "dot")`` writes Mermaid
or Graphviz DOT text (for ``rinconcito graph``); ``render_svg`` lays the graph out in layers and
writes an SVG with no binary needed (Render's Python runtime has no graphviz).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from markupsafe import escape

from engine.model.steps import (
    BACK,
    END,
    ChoiceStep,
    ConfirmStep,
    MessageStep,
    OrderFlow,
    OrderItemStep,
    PhoneStep,
    Step,
    Target,
    TextStep,
)

START = "(inicio)"
KIND_NAMES = {
    MessageStep: "mensaje", OrderItemStep: "platillos", ChoiceStep: "opciones", TextStep: "texto",
    PhoneStep: "teléfono", ConfirmStep: "sí / no",
}
Format = Literal["mermaid", "dot"]


class HasOrderFlow(Protocol):
    """``engine.runtime.flows.Flows``, or anything with its order flow."""

    @property
    def order(self) -> OrderFlow: ...


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    kind: str
    """``start``, ``step``, ``command``, ``end`` or ``back``."""
    detail: str = ""
    """The step's kind and message, the command's words."""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def flow_graph(order: OrderFlow) -> Graph:
    nodes: list[Node] = [Node(START, "mensaje del cliente", "start")]
    edges: list[Edge] = [Edge(START, order.start)]
    used_specials: set[str] = set()

    def branch_edges(source: str, target: Target, what: str = "") -> None:
        conditional = len(target) > 1
        for branch in target:
            if branch.condition:
                text = f"si {branch.condition}"
            else:
                text = "si no" if conditional else ""
            label = " · ".join(part for part in (what, text) if part)
            if branch.go in (END, BACK):
                used_specials.add(branch.go)
            edges.append(Edge(source, branch.go, label))

    for step in order.steps.values():
        nodes.append(Node(step.id, step.id, "step", _detail(step)))
        if isinstance(step, MessageStep):
            branch_edges(step.id, step.next)
        elif isinstance(step, OrderItemStep):
            branch_edges(step.id, step.next, "agregó")
            branch_edges(step.id, step.done, "listo")
        elif isinstance(step, ChoiceStep):
            for choice in step.choices:
                if choice.go is not None:
                    branch_edges(step.id, choice.go, choice.name)
            if step.next is not None:
                rest = [c.name for c in step.choices if c.go is None]
                branch_edges(step.id, step.next, " / ".join(rest) if len(rest) < len(step.choices) else "")
        elif isinstance(step, ConfirmStep):
            branch_edges(step.id, step.yes, "sí")
            branch_edges(step.id, step.no, "no")
        else:
            branch_edges(step.id, step.next)
    for index, command in enumerate(order.commands):
        node_id = f"(comando {index + 1})"
        unique = list(dict.fromkeys(command.words))
        words = ", ".join(f"«{w}»" for w in unique[:3]) + ("…" if len(unique) > 3 else "")
        detail = f"dice {command.say}" if command.say else ""
        nodes.append(Node(node_id, words, "command", detail))
        if command.go is not None:
            if command.go == BACK:
                used_specials.add(BACK)
            edges.append(Edge(node_id, command.go))
    if END in used_specials:
        nodes.append(Node(END, "fin", "end", "termina la conversación"))
    if BACK in used_specials:
        nodes.append(Node(BACK, "regresa", "back", "a donde iba el cliente"))
    return Graph(tuple(nodes), tuple(edges))


def _detail(step: Step) -> str:
    kind = KIND_NAMES.get(type(step), "")
    message = getattr(step, "ask", None) or getattr(step, "say", None)
    actions = ", ".join(getattr(step, "do", ()))
    return " · ".join(part for part in (kind, message or "", actions) if part)


# ---------------------------------------------------------------- text formats


def render_graph(flows: HasOrderFlow, fmt: Format) -> str:
    """The order flow of ``flows`` as Mermaid (``flowchart``) or Graphviz DOT text."""
    graph = flow_graph(flows.order)
    if fmt == "mermaid":
        return _mermaid(graph)
    if fmt == "dot":
        return _dot(graph)
    raise ValueError(f"unknown graph format {fmt!r}: use mermaid or dot")


def _mermaid(graph: Graph) -> str:
    ids = {node.id: f"n{index}" for index, node in enumerate(graph.nodes)}
    shapes = {"start": ("([", "])"), "step": ("[", "]"), "command": ("{{", "}}"), "end": ("((", "))"), "back": ("((", "))")}

    def text(value: str) -> str:
        return '"' + value.replace('"', "#quot;").replace("\n", " ") + '"'

    lines = ["flowchart TD"]
    for node in graph.nodes:
        opening, closing = shapes[node.kind]
        label = node.label + (f"<br/><small>{node.detail}</small>" if node.detail else "")
        lines.append(f"    {ids[node.id]}{opening}{text(label)}{closing}")
    for edge in graph.edges:
        arrow = "-.->" if edge.source.startswith("(comando") else "-->"
        label = f"|{text(edge.label)}|" if edge.label else ""
        lines.append(f"    {ids[edge.source]} {arrow}{label} {ids[edge.target]}")
    return "\n".join(lines) + "\n"


def _dot(graph: Graph) -> str:
    def text(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    shapes = {"start": "oval", "step": "box", "command": "hexagon", "end": "doublecircle", "back": "circle"}
    lines = ["digraph flow {", "    rankdir=TB;", '    node [fontname="Helvetica", style="rounded,filled", fillcolor="#ffffff"];']
    for node in graph.nodes:
        label = node.label + (f"\n{node.detail}" if node.detail else "")
        lines.append(f"    {text(node.id)} [label={text(label)}, shape={shapes[node.kind]}];")
    for edge in graph.edges:
        style = ", style=dashed" if edge.source.startswith("(comando") else ""
        label = f" [label={text(edge.label)}{style}]" if edge.label else (f" [{style[2:]}]" if style else "")
        lines.append(f"    {text(edge.source)} -> {text(edge.target)}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- SVG

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN, LANE_GAP = 176, 50, 36, 80, 24, 150
FILLS = {"start": "#1f2328", "step": "#ffffff", "command": "#fef3c7", "end": "#e5e7eb", "back": "#e0e7ff"}


@dataclass(frozen=True)
class Layout:
    """Where each node's box is (its top centre), and the size of the picture."""

    at: dict[str, tuple[float, float]]
    width: float
    height: float
    main_right: float
    """Right edge of the main flow: edges going back up run beside it."""


def layers(graph: Graph) -> list[list[str]]:
    """The main flow (from the start) in layers: each step below every step that leads to it,
    except along loops; within a layer, nodes sit near their parents. ``end`` and ``back`` last."""
    children: dict[str, list[str]] = {}
    for edge in graph.edges:
        children.setdefault(edge.source, []).append(edge.target)
    specials = {END, BACK}
    finished: list[str] = []
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done
    loops: set[tuple[str, str]] = set()

    def walk(node: str) -> None:  # iterative depth-first walk, loops noted
        stack = [(node, iter(children.get(node, ())))]
        state[node] = 1
        while stack:
            current, rest = stack[-1]
            child = next(rest, None)
            if child is None:
                state[current] = 2
                finished.append(current)
                stack.pop()
            elif child in specials:
                continue
            elif state.get(child) == 1:
                loops.add((current, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(children.get(child, ()))))

    walk(START)
    depth = {node: 0 for node in finished}
    for step in reversed(finished):  # topological order of what the walk reached
        for child in children.get(step, ()):
            if child in depth and (step, child) not in loops:
                depth[child] = max(depth[child], depth[step] + 1)
    bottom = max(depth.values(), default=0) + 1
    rows: list[list[str]] = [[] for _ in range(bottom + 1)]
    for node in graph.nodes:
        if node.id in depth:
            rows[depth[node.id]].append(node.id)
        elif node.id in specials:
            rows[bottom].append(node.id)
    rows = [row for row in rows if row]
    _order(rows, graph)
    return rows


def _order(rows: list[list[str]], graph: Graph) -> None:
    """A few sweeps of the barycentre heuristic: each node near the mean place of its neighbours."""
    place = {node: float(index) for row in rows for index, node in enumerate(row)}
    up: dict[str, list[str]] = {}
    down: dict[str, list[str]] = {}
    for edge in graph.edges:
        up.setdefault(edge.target, []).append(edge.source)
        down.setdefault(edge.source, []).append(edge.target)
    for sweep in range(4):
        neighbours = up if sweep % 2 == 0 else down
        for row in rows if sweep % 2 == 0 else reversed(rows):
            def key(node: str) -> float:
                near = [place[n] for n in neighbours.get(node, ()) if n in place and n not in row]
                return sum(near) / len(near) if near else place[node]
            row.sort(key=key)
            for index, node in enumerate(row):
                place[node] = index - (len(row) - 1) / 2


def lanes(graph: Graph, placed: set[str]) -> list[list[str]]:
    """Each global command with the steps only it leads to, left to right, one lane per command."""
    children: dict[str, list[str]] = {}
    for edge in graph.edges:
        children.setdefault(edge.source, []).append(edge.target)
    taken = set(placed)
    result: list[list[str]] = []
    for node in graph.nodes:
        if node.kind != "command":
            continue
        lane, frontier = [node.id], [node.id]
        taken.add(node.id)
        while frontier:
            current = frontier.pop(0)
            for child in children.get(current, ()):
                if child not in taken and child not in (END, BACK):
                    taken.add(child)
                    lane.append(child)
                    frontier.append(child)
        result.append(lane)
    return result


def layout(graph: Graph) -> Layout:
    rows = layers(graph)
    widest = max(len(row) for row in rows)
    main_width = widest * NODE_W + (widest - 1) * GAP_X
    at: dict[str, tuple[float, float]] = {}
    for depth, row in enumerate(rows):
        for index, node_id in enumerate(row):
            x = MARGIN + main_width / 2 + (index - (len(row) - 1) / 2) * (NODE_W + GAP_X)
            at[node_id] = (x, MARGIN + depth * (NODE_H + GAP_Y))
    side = lanes(graph, set(at))
    left = MARGIN + main_width + LANE_GAP
    longest = max((len(lane) for lane in side), default=0)
    for number, lane in enumerate(side):
        for index, node_id in enumerate(lane):
            at[node_id] = (left + NODE_W / 2 + index * (NODE_W + GAP_X), MARGIN + 40 + number * (NODE_H + GAP_Y))
    for node in graph.nodes:  # anything left (a step nothing leads to): under the lanes
        if node.id not in at:
            at[node.id] = (left + NODE_W / 2, MARGIN + 40 + len(side) * (NODE_H + GAP_Y))
            side.append([node.id])
    width = left + longest * (NODE_W + GAP_X) + MARGIN
    height = max(y for _, y in at.values()) + NODE_H + MARGIN
    return Layout(at, width, height, MARGIN + main_width)


def _fit(text: str, size: int) -> str:
    """Cut ``text`` to what a box holds at ``size`` px (about 0.55 em a character)."""
    room = int((NODE_W - 14) / (size * 0.56))
    return text if len(text) <= room else text[: room - 1] + "…"


def render_svg(flows: HasOrderFlow) -> str:
    """The order flow as an SVG picture: the main flow top to bottom, the global commands beside it."""
    graph = flow_graph(flows.order)
    where = layout(graph)
    kinds = {node.id: node.kind for node in graph.nodes}
    lane_left = where.main_right + LANE_GAP
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {where.width:.0f} {where.height:.0f}" class="flow-graph" '
        f'role="img" aria-label="Pasos del pedido" font-family="system-ui, sans-serif">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6b6459"/></marker></defs>',
        f'<text x="{lane_left:.0f}" y="{MARGIN + 16}" font-size="14" font-weight="700" fill="#92400e">'
        'Comandos (en cualquier momento)</text>',
    ]
    labels: list[str] = []
    for number, edge in enumerate(graph.edges):
        sx, sy = where.at[edge.source]
        tx, ty = where.at[edge.target]
        command = kinds[edge.source] == "command" or (sx >= lane_left and tx < lane_left)
        dashed = ' stroke-dasharray="5 4"' if command else ""
        if edge.source == edge.target:
            x1, y1 = sx + NODE_W / 2, sy + NODE_H / 3
            path = f"M{x1:.0f},{y1:.0f} C{x1 + 50:.0f},{y1 - 30:.0f} {x1 + 50:.0f},{y1 + 46:.0f} {x1:.0f},{y1 + 16:.0f}"
            lx, ly = x1 + 40, y1 - 10
        elif sx >= lane_left and tx >= lane_left and abs(sy - ty) < 1:  # along a lane
            x1, y1, x2, y2 = sx + NODE_W / 2, sy + NODE_H / 2, tx - NODE_W / 2, ty + NODE_H / 2
            path = f"M{x1:.0f},{y1:.0f} L{x2:.0f},{y2:.0f}"
            lx, ly = (x1 + x2) / 2, y1 - 6
        elif command and tx < lane_left:  # from the commands into the main flow
            x1, y1, x2, y2 = sx, sy + NODE_H, tx + NODE_W / 2, ty + NODE_H / 2
            path = f"M{x1:.0f},{y1:.0f} C{x1:.0f},{y1 + 70:.0f} {x2 + 120:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
            lx, ly = (x1 + x2) / 2, (y1 + y2) / 2
        elif ty > sy and (ty - sy > NODE_H + GAP_Y + 1 and abs(tx - sx) < NODE_W):  # down past other steps
            x1, y1 = sx - NODE_W / 2, sy + NODE_H / 2
            x2, y2 = tx - NODE_W / 2, ty + NODE_H / 2
            reach = min(x1, x2) - 30 - 14 * (number % 4)
            path = f"M{x1:.0f},{y1:.0f} C{reach:.0f},{y1:.0f} {reach:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
            lx, ly = reach + 4, (y1 + y2) / 2
        elif ty > sy:  # down to the next layer
            x1, y1, x2, y2 = sx, sy + NODE_H, tx, ty
            bend = (y2 - y1) / 2
            path = f"M{x1:.0f},{y1:.0f} C{x1:.0f},{y1 + bend:.0f} {x2:.0f},{y2 - bend:.0f} {x2:.0f},{y2:.0f}"
            lx, ly = (x1 + x2) / 2, (y1 + y2) / 2
        else:  # back up, beside the main flow
            x1, y1 = sx + NODE_W / 2, sy + NODE_H / 2
            x2, y2 = tx + NODE_W / 2, ty + NODE_H / 2
            reach = where.main_right + 12 + 16 * (number % 6)
            path = f"M{x1:.0f},{y1:.0f} C{reach:.0f},{y1:.0f} {reach:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
            lx, ly = reach - 10, (y1 + y2) / 2
        out.append(f'<path class="edge" d="{path}" fill="none" stroke="#8a8173" stroke-width="1.4"{dashed} '
                   f'marker-end="url(#arrow)"/>')
        if edge.label:
            text = edge.label if len(edge.label) <= 30 else edge.label[:29] + "…"
            labels.append(f'<text class="edge-label" x="{lx:.0f}" y="{ly:.0f}" text-anchor="middle" font-size="11" '
                          f'fill="#7c2d12" stroke="#ffffff" stroke-width="3" paint-order="stroke">{escape(text)}'
                          f'<title>{escape(edge.label)}</title></text>')
    for node in graph.nodes:
        nx, ny = where.at[node.id]
        ink = "#ffffff" if node.kind == "start" else "#1f2328"
        soft = "#d1d5db" if node.kind == "start" else "#6b6459"
        radius = 24 if node.kind in ("start", "end", "back") else 8
        out.append(
            f'<g class="node node-{node.kind}" data-id="{escape(node.id)}">'
            f'<rect x="{nx - NODE_W / 2:.0f}" y="{ny:.0f}" width="{NODE_W}" height="{NODE_H}" rx="{radius}" '
            f'fill="{FILLS[node.kind]}" stroke="#b8ab98"/>'
            f'<text x="{nx:.0f}" y="{ny + 21:.0f}" text-anchor="middle" font-size="14" font-weight="600" fill="{ink}">'
            f'{escape(_fit(node.label, 14))}</text>'
            f'<text x="{nx:.0f}" y="{ny + 38:.0f}" text-anchor="middle" font-size="11" fill="{soft}">'
            f'{escape(_fit(node.detail, 11))}</text><title>{escape(node.label)}: {escape(node.detail)}</title></g>'
        )
    out.extend(labels)
    out.append("</svg>")
    return "".join(out)
