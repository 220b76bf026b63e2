"""The conditions of branches: they can be read, use known variables, and compare answers that can be saved."""

from __future__ import annotations

import re

from jinja2 import TemplateError

from engine.loading.checks.common import Found, close_to, file_of, sample_hours
from engine.loading.problems import FlowProblem, problem
from engine.loading.source import Source
from engine.model.steps import targets_of
from engine.runtime import context as ctx
from engine.runtime.flows import Flows
from engine.runtime.templates import expression_error, make_environment


class BadCondition(FlowProblem):
    text = {"es": "No entiendo la condición «{condition}»: {error}.", "en": "Cannot read condition '{condition}': {error}."}
    fix = {
        "es": "Escríbela como en los ejemplos: order.fulfilment == \"delivery\", cart.subtotal < 150, not open.",
        "en": "Write it like the examples: order.fulfilment == \"delivery\", cart.subtotal < 150, not open.",
    }


class UnknownChoiceValue(FlowProblem):
    text = {
        "es": "La condición compara «{field}» con «{value}», pero las respuestas guardadas son: {choices}.",
        "en": "The condition compares '{field}' with '{value}', but the saved answers are: {choices}.",
    }
    fix = {"es": "Usa el id de la opción, no su nombre.{close}", "en": "Use the choice's id, not its name.{close}"}


def check_conditions(flows: Flows, sources: dict[str, Source]) -> Found:
    env = make_environment()
    context = ctx.build_context(flows, ctx.sample_session(flows), ctx.sample_customer(), sample_hours(flows), "x", None)
    for step in flows.order.steps.values():
        for path, target in targets_of(step):
            for index, branch in enumerate(target):
                if not branch.condition:
                    continue
                where = ("steps", step.id, *path, index, "if")
                error: TemplateError | None = expression_error(env, branch.condition)
                if error is None:
                    try:
                        env.compile_expression(branch.condition, undefined_to_none=False)(**context)
                    except TemplateError as failed:  # an unknown variable (UndefinedError) among them
                        error = failed
                if error is not None:
                    message = error.message or str(error)
                    yield "order", problem(BadCondition, file_of(sources, "order"), where, condition=branch.condition, error=message)


_COMPARISON = re.compile(r"""order\.(\w+)\s*(?:==|!=)\s*["']([^"']*)["']""")


def check_condition_values(flows: Flows, sources: dict[str, Source]) -> Found:
    """``order.fulfilment == "a domicilio"`` would never hold: the answer saved is ``delivery``."""
    saved = {name: set(ids) for name, ids in flows.compiled.answer_names.items()}
    for step in flows.order.steps.values():
        for path, target in targets_of(step):
            for index, branch in enumerate(target):
                for field, value in _COMPARISON.findall(branch.condition or ""):
                    if field in saved and value not in saved[field]:
                        choices = sorted(saved[field])
                        yield "order", problem(
                            UnknownChoiceValue, file_of(sources, "order"), ("steps", step.id, *path, index, "if"),
                            field=f"order.{field}", value=value, choices=", ".join(choices), close=close_to(value, choices),
                        )
