"""Meaning checks: what a schema cannot see. Each check is a small named function.

A check takes the built flows and yields ``(file kind, problem)``; the loader locates each
problem in its file. Problems are written for the people who edit the flows.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from jinja2 import TemplateError, TemplateSyntaxError, UndefinedError

from engine.loading.build import DAYS
from engine.loading.problems import FlowProblem, problem
from engine.loading.source import Source
from engine.model.steps import (
    BACK,
    END,
    SPECIAL_TARGETS,
    ChoiceStep,
    MessageStep,
    targets_of,
)
from engine.runtime import context as ctx
from engine.runtime.flows import Flows
from engine.runtime.hours import WEEKDAYS, service_on
from engine.runtime.templates import WHATSAPP_LIMIT, expression_error, make_environment

Found = Iterator[tuple[str, FlowProblem]]
CONTINENTS = frozenset({"Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"})
"""Current zone names start with these; "Mexico/General" and the like are old aliases."""
LATEST_OVERNIGHT_CLOSE = 6
"""A service that closes after midnight must close by 06:00, or it was probably written backwards."""

BUILTIN_MESSAGES = (*ctx.EXTRAS, "nothing_ordered", "not_understood", "phone_invalid", "error", "admin_new_order", "admin_handover")
"""Messages the engine itself says, so every set of flows must have them."""

PURPOSES = {
    "ask_quantity": "pregunta cuántos quiere de un platillo",
    "ask_option": "pregunta una opción, como la tortilla",
    "item_added": "confirma lo que se agregó al pedido",
    "item_removed": "confirma lo que se quitó",
    "item_unknown": "cuando no encuentra el platillo",
    "item_sold_out": "cuando el platillo está agotado",
    "too_many": "cuando piden más de la cantidad máxima",
    "nothing_ordered": "cuando dicen «listo» sin haber pedido nada",
    "not_understood": "cuando no entiende una respuesta",
    "phone_invalid": "cuando el número de contacto no es válido",
    "error": "la disculpa cuando algo falla",
    "admin_new_order": "el aviso de pedido nuevo al encargado",
    "admin_handover": "el aviso al encargado cuando piden hablar con alguien",
    "order_status": "el aviso al cliente cuando cambia el estado de su pedido",
    "order_saved_later": "cuando el pedido se guarda pero su número llega después",
    "rate_limited": "cuando un cliente manda demasiados mensajes seguidos",
}
"""What each built-in message is for, for the people who must write it."""


# ------------------------------------------------------------------ problem kinds


class UnknownStep(FlowProblem):
    text = {"es": "El paso «{target}» no existe.", "en": "There is no step '{target}'."}
    fix = {
        "es": "Escribe el nombre de un paso de «steps», o «end» para terminar, o «back» para regresar.{close}",
        "en": "Name a step under 'steps', or 'end' to finish, or 'back' to return.{close}",
    }


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


class UnknownMessage(FlowProblem):
    text = {"es": "El mensaje «{key}» no existe en messages.yaml.", "en": "There is no message '{key}' in messages.yaml."}
    fix = {"es": "Escríbelo en messages.yaml o usa uno que exista.{close}", "en": "Add it to messages.yaml or use one that exists.{close}"}


class MissingBuiltinMessage(FlowProblem):
    text = {"es": "Falta el mensaje «{key}», que el bot usa por su cuenta.", "en": "Message '{key}' is missing; the bot uses it on its own."}
    fix = {"es": "Agrégalo a messages.yaml ({purpose}).", "en": "Add it to messages.yaml ({purpose})."}


class UnusedMessage(FlowProblem):
    points_at_key = True
    text = {"es": "Nadie usa el mensaje «{key}».", "en": "No one uses message '{key}'."}
    fix = {"es": "Úsalo en order.yaml o bórralo.", "en": "Use it in order.yaml or delete it."}


class TemplateSyntax(FlowProblem):
    text = {"es": "Error en la plantilla del mensaje «{key}»: {error}.", "en": "Template error in message '{key}': {error}."}
    fix = {
        "es": "Revisa que cada «{{{{» cierre con «}}}}» y cada «{{%» con «%}}» (y cada «if»/«for» con su «endif»/«endfor»).",
        "en": "Check that every '{{{{' closes with '}}}}', every '{{%' with '%}}', and every 'if'/'for' has its 'endif'/'endfor'.",
    }


class UnknownFilter(FlowProblem):
    text = {"es": "El mensaje «{key}» usa el filtro «{name}», que no existe.", "en": "Message '{key}' uses filter '{name}', which does not exist."}
    fix = {"es": "Los filtros son: {names}.{close}", "en": "The filters are: {names}.{close}"}


class UnclosedBlock(FlowProblem):
    text = {"es": "En el mensaje «{key}» falta cerrar un «{block}».", "en": "In message '{key}' a '{block}' is never closed."}
    fix = {"es": "Agrega «{{% end{block} %}}» donde termina.", "en": "Add '{{% end{block} %}}' where it ends."}


class TemplateValue(FlowProblem):
    text = {"es": "El mensaje «{key}» no se puede mostrar: {error}.", "en": "Message '{key}' cannot be shown: {error}."}
    fix = {
        "es": "Revisa los filtros: «money» solo va con números (ej. {{{{ cart.subtotal | money }}}}).",
        "en": "Check the filters: 'money' only takes numbers (e.g. {{{{ cart.subtotal | money }}}}).",
    }


class UnknownChoiceValue(FlowProblem):
    text = {
        "es": "La condición compara «{field}» con «{value}», pero las respuestas guardadas son: {choices}.",
        "en": "The condition compares '{field}' with '{value}', but the saved answers are: {choices}.",
    }
    fix = {"es": "Usa el id de la opción, no su nombre.{close}", "en": "Use the choice's id, not its name.{close}"}


class UnknownVariable(FlowProblem):
    text = {"es": "El mensaje «{key}» usa «{variable}», que no existe aquí.", "en": "Message '{key}' uses '{variable}', which does not exist here."}
    fix = {"es": "Puedes usar: {names}.{close}", "en": "You can use: {names}.{close}"}


class UnknownAttribute(FlowProblem):
    text = {
        "es": "El mensaje «{key}» usa «{variable}», pero «{owner}» no tiene «{attribute}».",
        "en": "Message '{key}' uses '{variable}', but '{owner}' has no '{attribute}'.",
    }
    fix = {"es": "«{owner}» tiene: {names}.{close}", "en": "'{owner}' has: {names}.{close}"}


class MessageTooLong(FlowProblem):
    text = {
        "es": "El mensaje «{key}» puede llegar a {length} caracteres; WhatsApp acepta hasta {limit}.",
        "en": "Message '{key}' can reach {length} characters; WhatsApp accepts up to {limit}.",
    }
    fix = {"es": "Acórtalo (con un pedido largo o el menú completo se pasa).", "en": "Shorten it (a long order or the full menu makes it overflow)."}


class BadCondition(FlowProblem):
    text = {"es": "No entiendo la condición «{condition}»: {error}.", "en": "Cannot read condition '{condition}': {error}."}
    fix = {
        "es": "Escríbela como en los ejemplos: order.fulfilment == \"delivery\", cart.subtotal < 150, not open.",
        "en": "Write it like the examples: order.fulfilment == \"delivery\", cart.subtotal < 150, not open.",
    }


class DuplicateId(FlowProblem):
    text = {"es": "El id «{id}» se repite (ya está en {first}).", "en": "Id '{id}' is used twice (first in {first})."}
    fix = {"es": "Cada {what} necesita un id distinto.", "en": "Every {what} needs its own id."}


class UnknownOptionGroup(FlowProblem):
    text = {"es": "La opción «{group}» no está en «options».", "en": "Option group '{group}' is not under 'options'."}
    fix = {"es": "Defínela en «options» al inicio de menu.yaml.{close}", "en": "Define it under 'options' at the top of menu.yaml.{close}"}


class UnknownChoice(FlowProblem):
    text = {"es": "«{choice}» no es una opción de {where}.", "en": "'{choice}' is not a choice of {where}."}
    fix = {"es": "Usa el id de una de sus opciones: {choices}.{close}", "en": "Use the id of one of its choices: {choices}.{close}"}


class MissingAnswer(FlowProblem):
    text = {
        "es": "El pedido necesita «{field}», pero ningún paso lo pregunta (save_as: {field}).",
        "en": "The order needs '{field}', but no step asks for it (save_as: {field}).",
    }
    fix = {"es": "Agrega un paso con «save_as: {field}» antes de «place_order».", "en": "Add a step with 'save_as: {field}' before 'place_order'."}


class BadFulfilment(FlowProblem):
    text = {"es": "Las opciones de entrega deben ser «pickup» y «delivery», no «{choice}».", "en": "Fulfilment choices must be 'pickup' and 'delivery', not '{choice}'."}
    fix = {"es": "Usa id: pickup (recoger) o id: delivery (a domicilio).", "en": "Use id: pickup or id: delivery."}


class UnknownTimezone(FlowProblem):
    text = {"es": "No conozco la zona horaria «{zone}».", "en": "Unknown time zone '{zone}'."}
    fix = {"es": "Usa un nombre como America/Mexico_City.{close}", "en": "Use a name such as America/Mexico_City.{close}"}


class OpensAndClosesAtOnce(FlowProblem):
    text = {"es": "El horario «{hours}» abre y cierra a la misma hora.", "en": "Hours '{hours}' open and close at the same time."}
    fix = {
        "es": "Escribe apertura-cierre, ej. \"13:00-23:00\"; si ese día no abres, escribe closed.",
        "en": "Write opening-closing, e.g. \"13:00-23:00\"; if closed that day, write closed.",
    }


class ClosesBeforeOpening(FlowProblem):
    text = {
        "es": "El horario «{hours}» cierra antes de abrir.",
        "en": "Hours '{hours}' close before they open.",
    }
    fix = {
        "es": "Escribe primero la apertura, ej. \"13:00-23:00\". Si de verdad cierras al día siguiente, "
        "la hora de cierre debe ser antes de las {latest}:00 (ej. \"13:00-01:00\").",
        "en": "Write the opening first, e.g. \"13:00-23:00\". If you really close the next day, "
        "closing must be before {latest}:00 (e.g. \"13:00-01:00\").",
    }


class OverlappingHours(FlowProblem):
    text = {
        "es": "El servicio del {day_es} termina a las {closes} del día siguiente, pero ese día abre a las {opens}.",
        "en": "The service of {day} ends at {closes} the next day, but that day opens at {opens}.",
    }
    fix = {"es": "Ajusta uno de los dos horarios para que no se encimen.", "en": "Adjust one of them so they do not overlap."}


class BadDate(FlowProblem):
    points_at_key = True
    text = {"es": "La fecha «{day}» no existe.", "en": "Date '{day}' does not exist."}
    fix = {"es": "Escríbela como año-mes-día, ej. \"2026-12-24\".", "en": "Write it as year-month-day, e.g. \"2026-12-24\"."}


def close_to(word: str, options: Iterable[str]) -> str | None:
    """The option most like ``word``, for the "did you mean" tail of a problem."""
    found = get_close_matches(word, list(options), n=1, cutoff=0.6)
    return found[0] if found else None


# ------------------------------------------------------------------ order flow


def check_targets(flows: Flows, sources: dict[str, Source]) -> Found:
    steps = flows.order.steps
    for step in steps.values():
        for path, target in targets_of(step):
            for index, branch in enumerate(target):
                if branch.go not in steps and branch.go not in SPECIAL_TARGETS:
                    where = ("steps", step.id, *path) + ((index, "go") if len(target) > 1 or branch.condition else ())
                    where = where if _is_list(sources, ("steps", step.id, *path)) else ("steps", step.id, *path)
                    yield "order", problem(UnknownStep, _file(sources, "order"), where, target=branch.go, close=close_to(branch.go, steps))
    for index, command in enumerate(flows.order.commands):
        if command.go and command.go not in steps and command.go not in SPECIAL_TARGETS:
            yield "order", problem(UnknownStep, _file(sources, "order"), ("commands", index, "go"), target=command.go, close=close_to(command.go, steps))
    if flows.order.start not in steps:
        yield "order", problem(UnknownStep, _file(sources, "order"), ("start",), target=flows.order.start, close=close_to(flows.order.start, steps))


def check_default_branches(flows: Flows, sources: dict[str, Source]) -> Found:
    for step in flows.order.steps.values():
        for path, target in targets_of(step):
            base = ("steps", step.id, *path)
            defaults = [i for i, b in enumerate(target) if b.condition is None]
            if not defaults:
                yield "order", problem(NoDefaultBranch, _file(sources, "order"), base)
            elif defaults[0] != len(target) - 1:
                yield "order", problem(BranchAfterDefault, _file(sources, "order"), (*base, defaults[0] + 1))


def check_choice_targets(flows: Flows, sources: dict[str, Source]) -> Found:
    for step in flows.order.steps.values():
        if isinstance(step, ChoiceStep) and step.next is None:
            for index, choice in enumerate(step.choices):
                if choice.go is None:
                    yield "order", problem(ChoiceWithoutTarget, _file(sources, "order"), ("steps", step.id, "choices", index), choice=choice.id)


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
            yield "order", problem(UnreachableStep, _file(sources, "order"), ("steps", step_id), step=step_id)


def structure_broken(flows: Flows, sources: dict[str, Source]) -> bool:
    """A misspelt target, a missing default or a choice going nowhere: the graph checks would only echo it."""
    return any(
        True for check in (check_targets, check_default_branches, check_choice_targets) for _ in check(flows, sources)
    )


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
        yield "order", problem(NoWayOut, _file(sources, "order"), ("steps", stuck[0]), step=stuck[0], steps=names)


def check_endless_loops(flows: Flows, sources: dict[str, Source]) -> Found:
    steps = flows.order.steps
    silent = {sid: {t for t in targets if isinstance(steps.get(t), MessageStep)} for sid, targets in edges(flows).items() if isinstance(steps[sid], MessageStep)}
    reported: set[frozenset[str]] = set()
    for start in silent:
        path, todo = [], [(start, [start])]
        while todo:
            current, path = todo.pop()
            for target in silent.get(current, ()):
                if target == start:
                    cycle = frozenset(path)
                    if cycle not in reported:
                        reported.add(cycle)
                        names = " → ".join(f"«{s}»" for s in [*path, start])
                        yield "order", problem(EndlessLoop, _file(sources, "order"), ("steps", start), cycle=names)
                elif target not in path:
                    todo.append((target, [*path, target]))


def message_uses(flows: Flows) -> dict[str, list[tuple[tuple[str | int, ...], tuple[str, ...]]]]:
    """Message key -> where order.yaml uses it and which extra variables it gets there."""
    uses: dict[str, list[tuple[tuple[str | int, ...], tuple[str, ...]]]] = {}
    for step in flows.order.steps.values():
        extras = ctx.CHOICE_EXTRAS if isinstance(step, ChoiceStep) else ()
        for field in ("say", "ask", "retry"):
            key = getattr(step, field, None)
            if key:
                uses.setdefault(key, []).append((("steps", step.id, field), extras))
    for index, command in enumerate(flows.order.commands):
        if command.say:
            uses.setdefault(command.say, []).append((("commands", index, "say"), ()))
    return uses


def check_messages_exist(flows: Flows, sources: dict[str, Source]) -> Found:
    for key, places in message_uses(flows).items():
        if key not in flows.messages:
            for path, _ in places:
                yield "order", problem(UnknownMessage, _file(sources, "order"), path, key=key, close=close_to(key, flows.messages))
    for key in BUILTIN_MESSAGES:
        if key not in flows.messages:
            yield "messages", problem(MissingBuiltinMessage, _file(sources, "messages"), (), key=key, purpose=PURPOSES.get(key, key))


def check_unused_messages(flows: Flows, sources: dict[str, Source]) -> Found:
    uses = message_uses(flows)
    if any(key not in flows.messages for key in uses):
        return  # a misspelt key makes the message it meant look unused
    used = set(uses) | set(BUILTIN_MESSAGES)
    for key in flows.messages:
        if key not in used:
            found = problem(UnusedMessage, _file(sources, "messages"), (key,), key=key)
            found.severity = "warning"
            yield "messages", found


def check_templates(flows: Flows, sources: dict[str, Source]) -> Found:
    """Syntax, variables and length: each message is rendered with a long sample order."""
    env = make_environment()
    file = _file(sources, "messages")
    uses = message_uses(flows)
    session = ctx.sample_session(flows)
    hours = _SampleHours()
    extras_all = ctx.sample_extras(flows)
    service_extras = ctx.sample_service_extras(flows)
    for key, source in flows.messages.items():
        try:
            template = env.from_string(source)
        except TemplateSyntaxError as error:
            found = syntax_problem(file, key, error.message or "", env)
            yield "messages", _at_template_line(sources["messages"], found, error.lineno)
            continue
        names = ctx.EXTRAS.get(key, ()) or next((e for _, e in uses.get(key, ()) if e), ())
        if key not in uses and key not in ctx.EXTRAS:
            names = tuple(extras_all)  # used nowhere (reported apart): do not guess its variables
        if key in ctx.SERVICE_MESSAGES:
            context = {"restaurant": flows.compiled.restaurant_view, **{n: service_extras[n] for n in names}}
        else:
            extras = {name: extras_all[name] for name in names}
            context = ctx.build_context(flows, session, ctx.sample_customer(), hours, "x" * 200, extras)
        try:
            text = template.render(context).strip()
        except UndefinedError as error:
            allowed = ["restaurant", *names] if key in ctx.SERVICE_MESSAGES else [*ctx.NAMES, *names]
            found = undefined_problem(file, key, source, str(error), context, sorted(allowed))
            variable = found.details["variable"]
            used_here = re.compile(rf"(?<![\w.]){re.escape(variable)}\b")
            line = next((n for n, text in enumerate(source.splitlines(), 1) if used_here.search(text)), None)
            yield "messages", _at_template_line(sources["messages"], found, line, variable)
            continue
        except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as error:
            yield "messages", problem(TemplateValue, file, (key,), key=key, error=str(error).rstrip("."))
            continue
        if len(text) > WHATSAPP_LIMIT:
            yield "messages", problem(MessageTooLong, file, (key,), key=key, length=len(text), limit=WHATSAPP_LIMIT)


def check_conditions(flows: Flows, sources: dict[str, Source]) -> Found:
    env = make_environment()
    context = ctx.build_context(flows, ctx.sample_session(flows), ctx.sample_customer(), _SampleHours(), "x", None)
    for step in flows.order.steps.values():
        for path, target in targets_of(step):
            for index, branch in enumerate(target):
                if not branch.condition:
                    continue
                where = ("steps", step.id, *path, index, "if")
                error = expression_error(env, branch.condition)
                if error is None:
                    try:
                        env.compile_expression(branch.condition, undefined_to_none=False)(**context)
                    except UndefinedError as undefined:
                        error = undefined  # type: ignore[assignment]
                    except TemplateError as other:
                        error = other  # type: ignore[assignment]
                if error is not None:
                    message = getattr(error, "message", None) or str(error)
                    yield "order", problem(BadCondition, _file(sources, "order"), where, condition=branch.condition, error=message)


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
                            UnknownChoiceValue, _file(sources, "order"), ("steps", step.id, *path, index, "if"),
                            field=f"order.{field}", value=value, choices=", ".join(choices), close=close_to(value, choices),
                        )


def check_order_answers(flows: Flows, sources: dict[str, Source]) -> Found:
    steps = flows.order.steps.values()
    if not any(isinstance(s, MessageStep) and "place_order" in s.do for s in steps):
        return
    saved = {getattr(s, "save_as", None) for s in steps}
    for field in ("name", "fulfilment", "payment"):
        if field not in saved:
            yield "order", problem(MissingAnswer, _file(sources, "order"), ("steps",), field=field)
    for step in steps:
        if isinstance(step, ChoiceStep) and step.save_as == "fulfilment":
            for index, choice in enumerate(step.choices):
                if choice.id not in ("pickup", "delivery") and choice.go is None and step.next is not None:
                    yield "order", problem(BadFulfilment, _file(sources, "order"), ("steps", step.id, "choices", index, "id"), choice=choice.id)


def check_duplicate_ids(flows: Flows, sources: dict[str, Source]) -> Found:
    raw = sources["menu"].data
    seen: dict[str, str] = {}
    for c_index, category in enumerate(raw["categories"]):
        for i_index, item in enumerate(category["items"]):
            where = f"{category['name']}"
            if item["id"] in seen:
                yield "menu", problem(DuplicateId, _file(sources, "menu"), ("categories", c_index, "items", i_index, "id"), id=item["id"], first=seen[item["id"]], what="platillo")
            seen.setdefault(item["id"], where)
    choice_owner: dict[str, str] = {}
    for group_id, group in (raw.get("options") or {}).items():
        for index, choice in enumerate(group["choices"]):
            if choice["id"] in choice_owner:
                yield "menu", problem(DuplicateId, _file(sources, "menu"), ("options", group_id, "choices", index, "id"), id=choice["id"], first=choice_owner[choice["id"]], what="opción")
            choice_owner.setdefault(choice["id"], group_id)
    for step_id, step in sources["order"].data["steps"].items():
        ids: set[str] = set()
        for index, choice in enumerate(step.get("choices", []) if isinstance(step, dict) else []):
            if choice.get("id") in ids:
                yield "order", problem(DuplicateId, _file(sources, "order"), ("steps", step_id, "choices", index, "id"), id=choice["id"], first=step_id, what="opción")
            ids.add(choice.get("id"))


def check_menu_options(flows: Flows, sources: dict[str, Source]) -> Found:
    menu = flows.menu
    file = _file(sources, "menu")
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


# ------------------------------------------------------------------ hours


def check_timezone(flows: Flows, sources: dict[str, Source]) -> Found:
    try:
        ZoneInfo(flows.hours.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zones = [z for z in available_timezones() if z.split("/")[0] in CONTINENTS]
        by_city = {z.rsplit("/", 1)[-1].replace("_", " ").lower(): z for z in zones}
        typed = flows.hours.timezone
        city = close_to(typed.rsplit("/", 1)[-1].replace("_", " ").lower(), by_city)
        suggestion = close_to(typed, zones) or (by_city[city] if city else None)
        yield "hours", problem(UnknownTimezone, _file(sources, "hours"), ("timezone",), zone=typed, close=suggestion)


def check_hours(flows: Flows, sources: dict[str, Source]) -> Found:
    file = _file(sources, "hours")
    raw = sources["hours"].data
    places = [(("weekly", day), raw["weekly"][day], opening) for day, opening in zip(DAYS, flows.hours.weekly)]
    places += [(("special", day), raw["special"][day], flows.hours.special[day]) for day in (raw.get("special") or {})]
    for path, text, opening in places:
        if opening is None:
            continue
        if opening.opens == opening.closes:
            yield "hours", problem(OpensAndClosesAtOnce, file, path, hours=text)
        elif opening.crosses_midnight and opening.closes.hour >= LATEST_OVERNIGHT_CLOSE and (opening.closes.hour, opening.closes.minute) != (LATEST_OVERNIGHT_CLOSE, 0):
            yield "hours", problem(ClosesBeforeOpening, file, path, hours=text, latest=f"{LATEST_OVERNIGHT_CLOSE:02d}")
    for day in (raw.get("special") or {}):
        try:
            date.fromisoformat(day)
        except ValueError:
            yield "hours", problem(BadDate, file, ("special", day), day=day)


def check_overlaps(flows: Flows, sources: dict[str, Source]) -> Found:
    """A service past midnight must end before the next day's service starts."""
    try:
        ZoneInfo(flows.hours.timezone)
        specials = [date.fromisoformat(d) for d in flows.hours.special]
    except (ZoneInfoNotFoundError, ValueError):
        return
    monday = date(2026, 1, 5)
    days = {monday + timedelta(days=i) for i in range(7)} | {d + timedelta(days=k) for d in specials for k in (-1, 0)}
    for day in sorted(days):
        today, tomorrow = service_on(flows.hours, day), service_on(flows.hours, day + timedelta(days=1))
        if today and tomorrow and today.closes > tomorrow.opens:
            special = day.isoformat() in flows.hours.special
            path = ("special", day.isoformat()) if special else ("weekly", DAYS[day.weekday()])
            label = day.isoformat() if special else DAYS[day.weekday()]
            label_es = day.isoformat() if special else WEEKDAYS["es"][day.weekday()]
            yield "hours", problem(OverlappingHours, _file(sources, "hours"), path, day=label, day_es=label_es, closes=today.closes.strftime("%H:%M"), opens=tomorrow.opens.strftime("%H:%M"))


CHECKS: tuple[Callable[[Flows, dict[str, Source]], Found], ...] = (
    check_targets,
    check_default_branches,
    check_choice_targets,
    check_reachable,
    check_way_out,
    check_endless_loops,
    check_messages_exist,
    check_unused_messages,
    check_templates,
    check_conditions,
    check_condition_values,
    check_order_answers,
    check_duplicate_ids,
    check_menu_options,
    check_timezone,
    check_hours,
    check_overlaps,
)
"""Every meaning check, in the order their problems are most useful."""


def run_checks(flows: Flows, sources: dict[str, Source]) -> list[tuple[str, FlowProblem]]:
    found: list[tuple[str, FlowProblem]] = []
    for check in CHECKS:
        found.extend(check(flows, sources))
    return found


# ------------------------------------------------------------------ helpers


class _SampleHours:
    open = True

    def next_opening(self) -> str:
        return "abrimos el miércoles a las 13:00"


def syntax_problem(file: str, key: str, message: str, env: Any) -> FlowProblem:
    """Jinja2's words turned into the editor's: an unknown filter, a block never closed, or the rest."""
    filter_name = re.match(r"No filter named '([^']+)'", message)
    if filter_name:
        names = sorted(env.filters)
        return problem(UnknownFilter, file, (key,), key=key, name=filter_name.group(1),
                       names=", ".join(n for n in ("money", "capitalize", "join", "upper", "lower", "truncate") if n in names),
                       close=close_to(filter_name.group(1), names))
    block = re.search(r"innermost block that needs to be closed is '(\w+)'", message)
    if block:
        return problem(UnclosedBlock, file, (key,), key=key, block=block.group(1))
    return problem(TemplateSyntax, file, (key,), key=key, error=message.rstrip("."))


def _file(sources: dict[str, Source], kind: str) -> str:
    return sources[kind].file


def _is_list(sources: dict[str, Source], path: tuple[str | int, ...]) -> bool:
    value = sources["order"].data
    for key in path:
        value = value[key]
    return isinstance(value, list)


_DOTTED = r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\.{attribute}\b"


def undefined_problem(file: str, key: str, source: str, error: str, context: dict, allowed: list[str]) -> FlowProblem:
    """Jinja2 says "'x' is undefined" or "'dict object' has no attribute 'y'": name the culprit."""
    parts = error.split("'")
    if "has no attribute" in error and len(parts) >= 4:
        attribute = parts[3]
        found = re.search(_DOTTED.format(attribute=re.escape(attribute)), source)
        owner = found.group(1) if found else "?"
        value: Any = context
        for part in owner.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        keys = sorted(value) if isinstance(value, dict) else []
        return problem(
            UnknownAttribute, file, (key,), key=key, variable=f"{owner}.{attribute}", owner=owner,
            attribute=attribute, names=", ".join(keys) or "—", close=close_to(attribute, keys),
        )
    variable = parts[1] if len(parts) >= 2 else error
    return problem(UnknownVariable, file, (key,), key=key, variable=variable, names=", ".join(allowed), close=close_to(variable, allowed))


def _at_template_line(source: Source, found: FlowProblem, template_line: int | None, needle: str | None = None) -> FlowProblem:
    """Point at the line inside the message where the mistake is (and at ``needle`` in it), not at its key."""
    line, column = source.locate(found.path)
    found.line, found.column = line, column
    if _file_line(source, line)[column - 1 : column] in ("|", ">"):  # "key: |" — the text starts below
        found.line, found.column = line + (template_line or 1), 1
    elif template_line and template_line > 1:
        found.line, found.column = line + template_line - 1, 1
    if needle:
        spot = _file_line(source, found.line).find(needle)
        if spot >= 0 and (found.line != line or spot + 1 >= column):
            found.column = spot + 1
    return found


def _file_line(source: Source, line: int) -> str:
    try:
        return Path(source.file).read_text(encoding="utf-8").splitlines()[line - 1]
    except (OSError, IndexError):
        return ""
