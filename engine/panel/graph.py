"""The order flow as a graph: its steps, where each goes next (conditions, choices, yes/no) and
the global commands, drawn from the loaded flows.

``flow_graph`` extracts nodes and edges; ``render_graph(flows, "mermaid" | "dot")`` writes Mermaid
or Graphviz DOT text (for ``rinconcito graph``); ``render_svg`` lays the graph out in layers and
writes an SVG with no binary needed (Render's Python runtime has no graphviz).
"""

from __future__ import annotations

from collections import deque
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
    nodes: list[Node] = [Node(START, "inicio", "start")]
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
        words = ", ".join(f"«{w}»" for w in command.words[:3]) + ("…" if len(command.words) > 3 else "")
        detail = f"dice {command.say}" if command.say else ""
        nodes.append(Node(node_id, words, "command", detail))
        if command.go is not None:
            if command.go == BACK:
                used_specials.add(BACK)
            edges.append(Edge(node_id, command.go, "en cualquier momento"))
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

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 170, 48, 40, 78, 24
FILLS = {"start": "#1f2328", "step": "#ffffff", "command": "#fef3c7", "end": "#e5e7eb", "back": "#e0e7ff"}


def layers(graph: Graph) -> list[list[str]]:
    """Nodes by layer: the shortest distance from the start and the commands, ordered to keep
    edges short (each node near its parents)."""
    sources = [n.id for n in graph.nodes if n.kind in ("start", "command")]
    children: dict[str, list[str]] = {}
    for edge in graph.edges:
        children.setdefault(edge.source, []).append(edge.target)
    depth = {source: 0 for source in sources}
    queue = deque(sources)
    while queue:
        current = queue.popleft()
        for child in children.get(current, ()):
            if child not in depth:
                depth[child] = depth[current] + 1
                queue.append(child)
    last = max(depth.values(), default=0)
    for node in graph.nodes:
        if node.id not in depth:
            depth[node.id] = last + 1
    for special in (END, BACK):
        if special in depth:
            depth[special] = max(depth.values()) + (0 if special == BACK and END in depth else 1)
    rows: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for node in graph.nodes:
        rows[depth[node.id]].append(node.id)
    rows = [row for row in rows if row]
    position: dict[str, float] = {}
    for row in rows:
        parents = {n: [position[e.source] for e in graph.edges if e.target == n and e.source in position] for n in row}
        first = {n: float(index) for index, n in enumerate(row)}
        row.sort(key=lambda n: sum(parents[n]) / len(parents[n]) if parents[n] else first[n])
        for index, node_id in enumerate(row):
            position[node_id] = index - (len(row) - 1) / 2
    return rows


def render_svg(flows: HasOrderFlow) -> str:
    graph = flow_graph(flows.order)
    rows = layers(graph)
    widest = max(len(row) for row in rows)
    width = MARGIN * 2 + widest * NODE_W + (widest - 1) * GAP_X + 160
    height = MARGIN * 2 + len(rows) * NODE_H + (len(rows) - 1) * GAP_Y
    centre = (width - 160) / 2
    where: dict[str, tuple[float, float, int]] = {}
    for layer, row in enumerate(rows):
        for index, node_id in enumerate(row):
            x = centre + (index - (len(row) - 1) / 2) * (NODE_W + GAP_X)
            y = MARGIN + layer * (NODE_H + GAP_Y)
            where[node_id] = (x, y, layer)
    nodes = {node.id: node for node in graph.nodes}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" class="flow-graph" '
        f'role="img" aria-label="Pasos del pedido" font-family="system-ui, sans-serif">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6b6459"/></marker></defs>',
    ]
    labels: list[str] = []
    for number, edge in enumerate(graph.edges):
        sx, sy, slayer = where[edge.source]
        tx, ty, tlayer = where[edge.target]
        dashed = ' stroke-dasharray="5 4"' if nodes[edge.source].kind == "command" else ""
        if tlayer > slayer:
            x1, y1, x2, y2 = sx, sy + NODE_H, tx, ty
            bend = (y2 - y1) / 2
            path = f"M{x1:.0f},{y1:.0f} C{x1:.0f},{y1 + bend:.0f} {x2:.0f},{y2 - bend:.0f} {x2:.0f},{y2:.0f}"
            lx, ly = (x1 + x2) / 2, (y1 + y2) / 2
        elif edge.source == edge.target:
            x1, y1 = sx + NODE_W / 2, sy + NODE_H / 3
            path = f"M{x1:.0f},{y1:.0f} C{x1 + 50:.0f},{y1 - 30:.0f} {x1 + 50:.0f},{y1 + 46:.0f} {x1:.0f},{y1 + 16:.0f}"
            lx, ly = x1 + 44, y1 + 8
        else:  # back up (or across): around the right side
            x1, y1 = sx + NODE_W / 2, sy + NODE_H / 2
            x2, y2 = tx + NODE_W / 2, ty + NODE_H / 2
            reach = max(x1, x2) + 50 + 14 * (number % 4)
            path = f"M{x1:.0f},{y1:.0f} C{reach:.0f},{y1:.0f} {reach:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
            lx, ly = reach - 8, (y1 + y2) / 2
        out.append(f'<path class="edge" d="{path}" fill="none" stroke="#8a8173" stroke-width="1.4"{dashed} '
                   f'marker-end="url(#arrow)"/>')
        if edge.label:
            text = edge.label if len(edge.label) <= 34 else edge.label[:33] + "…"
            labels.append(f'<text class="edge-label" x="{lx:.0f}" y="{ly:.0f}" text-anchor="middle" font-size="11" '
                          f'fill="#7c2d12" stroke="#ffffff" stroke-width="3" paint-order="stroke">{escape(text)}'
                          f'<title>{escape(edge.label)}</title></text>')
    for node in graph.nodes:
        nx, ny, _depth = where[node.id]
        fill = FILLS[node.kind]
        ink = "#ffffff" if node.kind == "start" else "#1f2328"
        radius = 24 if node.kind in ("start", "end", "back") else 8
        detail = node.detail if len(node.detail) <= 30 else node.detail[:29] + "…"
        out.append(
            f'<g class="node node-{node.kind}" data-id="{escape(node.id)}">'
            f'<rect x="{nx - NODE_W / 2:.0f}" y="{ny:.0f}" width="{NODE_W}" height="{NODE_H}" rx="{radius}" fill="{fill}" '
            f'stroke="#b8ab98"/>'
            f'<text x="{nx:.0f}" y="{ny + 20:.0f}" text-anchor="middle" font-size="14" font-weight="600" fill="{ink}">'
            f'{escape(node.label)}</text>'
            f'<text x="{nx:.0f}" y="{ny + 37:.0f}" text-anchor="middle" font-size="11" fill="{"#d1d5db" if node.kind == "start" else "#6b6459"}">'
            f'{escape(detail)}</text><title>{escape(node.label)}: {escape(node.detail)}</title></g>'
        )
    out.extend(labels)
    out.append("</svg>")
    return "".join(out)
