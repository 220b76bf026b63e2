"""Whether the conversation can go on and end: every step reached, a way to the end, no silent loop."""

from __future__ import annotations

from engine.loading.checks.common import Found, file_of
from engine.loading.checks.targets import structure_broken
from engine.loading.problems import FlowProblem, problem
from engine.loading.source import Source
from engine.model.steps import BACK, END, MessageStep, targets_of
from engine.runtime.flows import Flows


class UnreachableStep(FlowProblem):
    points_at_key = True
    text = {"es": "Ningún paso lleva al paso «{step}».", "en": "No step leads to '{step}'."}
    fix = {
        "es": "Agrégalo como «next» de otro paso o bórralo si ya no se usa.",
        "en": "Use it as another step's 'next', or delete it.",
    }


class NoWayOut(FlowProblem):
    points_at_key = True
    text = {
        "es": "Desde {steps} la conversación nunca llega a «end».",
        "en": "From {steps} the conversation never reaches 'end'.",
    }
    fix = {
        "es": "Haz que alguno de sus caminos termine en «end» (por ejemplo después de confirmar).",
        "en": "Make one of its paths end at 'end' (for example after confirming).",
    }


class EndlessLoop(FlowProblem):
    points_at_key = True
    text = {
        "es": "Los pasos {cycle} se llaman entre sí sin hacer ninguna pregunta: el bot nunca se detendría.",
        "en": "Steps {cycle} lead to each other without asking anything: the bot would never stop.",
    }
    fix = {"es": "Pon un paso que pregunte algo en ese ciclo.", "en": "Put a step that asks something in that loop."}


def edges(flows: Flows) -> dict[str, set[str]]:
    return {
        step.id: {b.go for _, target in targets_of(step) for b in target}
        for step in flows.order.steps.values()
    }


def check_reachable(flows: Flows, sources: dict[str, Source]) -> Found:
    if structure_broken(flows, sources):
        return  # a misspelt target would make every step behind it look unreachable
    graph = edges(flows)
    seen: set[str] = set()
    todo = [flows.order.start, *(c.go for c in flows.order.commands if c.go)]
    while todo:
        current = todo.pop()
        if current in seen or current not in graph:
            continue
        seen.add(current)
        todo.extend(graph[current])
    for step_id in flows.order.steps:
        if step_id not in seen:
            yield "order", problem(UnreachableStep, file_of(sources, "order"), ("steps", step_id), step=step_id)


def check_way_out(flows: Flows, sources: dict[str, Source]) -> Found:
    if structure_broken(flows, sources):
        return
    graph = edges(flows)
    # Steps from which END (or BACK, which returns into the flow) can be reached.
    # Unknown targets count as finishing: they are reported once, by check_targets.
    finishing = {END, BACK} | {t for targets in graph.values() for t in targets if t not in graph}
    changed = True
    while changed:
        changed = False
        for step_id, targets in graph.items():
            if step_id not in finishing and targets & finishing:
                finishing.add(step_id)
                changed = True
    stuck = [step_id for step_id in flows.order.steps if step_id not in finishing]
    if stuck:  # one problem for all of them: they share one cause
        names = ", ".join(f"«{s}»" for s in stuck[:6]) + (" …" if len(stuck) > 6 else "")
        yield "order", problem(NoWayOut, file_of(sources, "order"), ("steps", stuck[0]), step=stuck[0], steps=names)


def check_endless_loops(flows: Flows, sources: dict[str, Source]) -> Found:
    steps = flows.order.steps
    silent = {sid: {t for t in targets if isinstance(steps.get(t), MessageStep)} for sid, targets in edges(flows).items() if isinstance(steps[sid], MessageStep)}
    reported: set[frozenset[str]] = set()
    for start in silent:
        todo: list[tuple[str, list[str]]] = [(start, [start])]
        while todo:
            current, path = todo.pop()
            for target in silent.get(current, ()):
                if target == start:
                    cycle = frozenset(path)
                    if cycle not in reported:
                        reported.add(cycle)
                        names = " → ".join(f"«{s}»" for s in [*path, start])
                        yield "order", problem(EndlessLoop, file_of(sources, "order"), ("steps", start), cycle=names)
                elif target not in path:
                    todo.append((target, [*path, target]))
