"""Where steps lead: every target names a step, branch lists end with a default, choices go somewhere."""

from __future__ import annotations

from engine.loading.checks.common import Found, close_to, file_of
from engine.loading.problems import FlowProblem, problem
from engine.loading.source import Source
from engine.model.steps import SPECIAL_TARGETS, ChoiceStep, targets_of
from engine.runtime.flows import Flows


class UnknownStep(FlowProblem):
    text = {"es": "El paso «{target}» no existe.", "en": "There is no step '{target}'."}
    fix = {
        "es": "Escribe el nombre de un paso de «steps», o «end» para terminar, o «back» para regresar.{close}",
        "en": "Name a step under 'steps', or 'end' to finish, or 'back' to return.{close}",
    }


class NoDefaultBranch(FlowProblem):
    text = {
        "es": "A esta lista de caminos le falta el camino por omisión.",
        "en": "This list of branches has no default.",
    }
    fix = {
        "es": "Termina la lista con un camino sin «if» (ej. «- go: nombre») para cuando ninguna condición se cumpla.",
        "en": "End the list with a branch without 'if' (e.g. '- go: name') for when no condition holds.",
    }


class BranchAfterDefault(FlowProblem):
    text = {
        "es": "Este camino nunca se usa: el camino sin «if» de antes siempre gana.",
        "en": "This branch is never used: the branch without 'if' before it always wins.",
    }
    fix = {"es": "Pon el camino sin «if» al final de la lista.", "en": "Put the branch without 'if' last."}


class ChoiceWithoutTarget(FlowProblem):
    text = {
        "es": "La opción «{choice}» no dice a dónde seguir y el paso no tiene «next».",
        "en": "Choice '{choice}' says nowhere to go and the step has no 'next'.",
    }
    fix = {"es": "Agrega «go:» a la opción o «next:» al paso.", "en": "Add 'go:' to the choice or 'next:' to the step."}


def check_targets(flows: Flows, sources: dict[str, Source]) -> Found:
    steps = flows.order.steps
    for step in steps.values():
        for path, target in targets_of(step):
            for index, branch in enumerate(target):
                if branch.go not in steps and branch.go not in SPECIAL_TARGETS:
                    where = ("steps", step.id, *path) + ((index, "go") if len(target) > 1 or branch.condition else ())
                    where = where if _is_list(sources, ("steps", step.id, *path)) else ("steps", step.id, *path)
                    yield "order", problem(UnknownStep, file_of(sources, "order"), where, target=branch.go, close=close_to(branch.go, steps))
    for index, command in enumerate(flows.order.commands):
        if command.go and command.go not in steps and command.go not in SPECIAL_TARGETS:
            yield "order", problem(UnknownStep, file_of(sources, "order"), ("commands", index, "go"), target=command.go, close=close_to(command.go, steps))
    if flows.order.start not in steps:
        yield "order", problem(UnknownStep, file_of(sources, "order"), ("start",), target=flows.order.start, close=close_to(flows.order.start, steps))


def check_default_branches(flows: Flows, sources: dict[str, Source]) -> Found:
    for step in flows.order.steps.values():
        for path, target in targets_of(step):
            base = ("steps", step.id, *path)
            defaults = [i for i, b in enumerate(target) if b.condition is None]
            if not defaults:
                yield "order", problem(NoDefaultBranch, file_of(sources, "order"), base)
            elif defaults[0] != len(target) - 1:
                yield "order", problem(BranchAfterDefault, file_of(sources, "order"), (*base, defaults[0] + 1))


def check_choice_targets(flows: Flows, sources: dict[str, Source]) -> Found:
    for step in flows.order.steps.values():
        if isinstance(step, ChoiceStep) and step.next is None:
            for index, choice in enumerate(step.choices):
                if choice.go is None:
                    yield "order", problem(ChoiceWithoutTarget, file_of(sources, "order"), ("steps", step.id, "choices", index), choice=choice.id)


def structure_broken(flows: Flows, sources: dict[str, Source]) -> bool:
    """A misspelt target, a missing default or a choice going nowhere: the graph checks would only echo it."""
    return any(
        True for check in (check_targets, check_default_branches, check_choice_targets) for _ in check(flows, sources)
    )


def _is_list(sources: dict[str, Source], path: tuple[str | int, ...]) -> bool:
    value = sources["order"].data
    for key in path:
        value = value[key]
    return isinstance(value, list)
