"""The menu: ids are unique, option groups and choices named by items exist."""

from __future__ import annotations

from engine.loading.checks.common import Found, close_to, file_of
from engine.loading.problems import FlowProblem, problem
from engine.loading.source import Source
from engine.runtime.flows import Flows


class DuplicateId(FlowProblem):
    text = {"es": "El id «{id}» se repite (ya está en {first}).", "en": "Id '{id}' is used twice (first in {first})."}
    fix = {"es": "Cada {what} necesita un id distinto.", "en": "Every {what} needs its own id."}


class UnknownOptionGroup(FlowProblem):
    text = {"es": "La opción «{group}» no está en «options».", "en": "Option group '{group}' is not under 'options'."}
    fix = {"es": "Defínela en «options» al inicio de menu.yaml.{close}", "en": "Define it under 'options' at the top of menu.yaml.{close}"}


class UnknownChoice(FlowProblem):
    text = {"es": "«{choice}» no es una opción de {where}.", "en": "'{choice}' is not a choice of {where}."}
    fix = {"es": "Usa el id de una de sus opciones: {choices}.{close}", "en": "Use the id of one of its choices: {choices}.{close}"}


def check_duplicate_ids(flows: Flows, sources: dict[str, Source]) -> Found:
    raw = sources["menu"].data
    seen: dict[str, str] = {}
    for c_index, category in enumerate(raw["categories"]):
        for i_index, item in enumerate(category["items"]):
            where = f"{category['name']}"
            if item["id"] in seen:
                yield "menu", problem(DuplicateId, file_of(sources, "menu"), ("categories", c_index, "items", i_index, "id"), id=item["id"], first=seen[item["id"]], what="platillo")
            seen.setdefault(item["id"], where)
    choice_owner: dict[str, str] = {}
    for group_id, group in (raw.get("options") or {}).items():
        for index, choice in enumerate(group["choices"]):
            if choice["id"] in choice_owner:
                yield "menu", problem(DuplicateId, file_of(sources, "menu"), ("options", group_id, "choices", index, "id"), id=choice["id"], first=choice_owner[choice["id"]], what="opción")
            choice_owner.setdefault(choice["id"], group_id)
    for step_id, step in sources["order"].data["steps"].items():
        ids: set[str] = set()
        for index, choice in enumerate(step.get("choices", []) if isinstance(step, dict) else []):
            if choice.get("id") in ids:
                yield "order", problem(DuplicateId, file_of(sources, "order"), ("steps", step_id, "choices", index, "id"), id=choice["id"], first=step_id, what="opción")
            ids.add(choice.get("id"))


def check_menu_options(flows: Flows, sources: dict[str, Source]) -> Found:
    menu = flows.menu
    file = file_of(sources, "menu")
    for group in menu.options.values():
        if group.default and not group.choice(group.default):
            yield "menu", problem(UnknownChoice, file, ("options", group.id, "default"), choice=group.default, where=f"«{group.id}»", choices=", ".join(c.id for c in group.choices), close=close_to(group.default, [c.id for c in group.choices]))
    for c_index, category in enumerate(menu.categories):
        for i_index, item in enumerate(category.items):
            base = ("categories", c_index, "items", i_index)
            for o_index, group_id in enumerate(item.options):
                if group_id not in menu.options:
                    yield "menu", problem(UnknownOptionGroup, file, (*base, "options", o_index), group=group_id, close=close_to(group_id, menu.options))
            allowed = [c.id for g in item.options if g in menu.options for c in menu.options[g].choices]
            for choice_id in item.option_prices:
                if choice_id not in allowed:
                    yield "menu", problem(UnknownChoice, file, (*base, "option_prices", choice_id), choice=choice_id, where=f"«{item.id}»", choices=", ".join(allowed) or "(ninguna)", close=close_to(choice_id, allowed))
