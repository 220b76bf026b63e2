"""What an order needs: a step asks each of its answers, and the ways of receiving it are the known ones."""

from __future__ import annotations

from engine.loading.checks.common import Found, file_of
from engine.loading.problems import FlowProblem, problem
from engine.loading.source import Source
from engine.model.steps import ChoiceStep, MessageStep
from engine.runtime.flows import Flows


class MissingAnswer(FlowProblem):
    text = {
        "es": "El pedido necesita «{field}», pero ningún paso lo pregunta (save_as: {field}).",
        "en": "The order needs '{field}', but no step asks for it (save_as: {field}).",
    }
    fix = {"es": "Agrega un paso con «save_as: {field}» antes de «place_order».", "en": "Add a step with 'save_as: {field}' before 'place_order'."}


class BadFulfilment(FlowProblem):
    text = {"es": "Las opciones de entrega deben ser «pickup» y «delivery», no «{choice}».", "en": "Fulfilment choices must be 'pickup' and 'delivery', not '{choice}'."}
    fix = {"es": "Usa id: pickup (recoger) o id: delivery (a domicilio).", "en": "Use id: pickup or id: delivery."}


def check_order_answers(flows: Flows, sources: dict[str, Source]) -> Found:
    steps = flows.order.steps.values()
    if not any(isinstance(s, MessageStep) and "place_order" in s.do for s in steps):
        return
    saved = {getattr(s, "save_as", None) for s in steps}
    for field in ("name", "fulfilment", "payment"):
        if field not in saved:
            yield "order", problem(MissingAnswer, file_of(sources, "order"), ("steps",), field=field)
    for step in steps:
        if isinstance(step, ChoiceStep) and step.save_as == "fulfilment":
            for index, choice in enumerate(step.choices):
                if choice.id not in ("pickup", "delivery") and choice.go is None and step.next is not None:
                    yield "order", problem(BadFulfilment, file_of(sources, "order"), ("steps", step.id, "choices", index, "id"), choice=choice.id)
