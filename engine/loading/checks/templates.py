"""Each message as a template: its syntax, the variables it uses and its length, rendered with a long sample order."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, TemplateError, TemplateSyntaxError, UndefinedError

from engine.loading.checks.common import Found, close_to, file_of, sample_hours
from engine.loading.checks.messages import message_uses
from engine.loading.problems import FlowProblem, problem
from engine.loading.source import Source
from engine.runtime import context as ctx
from engine.runtime.flows import Flows
from engine.runtime.templates import WHATSAPP_LIMIT, make_environment


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


def check_templates(flows: Flows, sources: dict[str, Source]) -> Found:
    """Syntax, variables and length: each message is rendered with a long sample order."""
    env = make_environment()
    file = file_of(sources, "messages")
    uses = message_uses(flows)
    session = ctx.sample_session(flows)
    hours = sample_hours(flows)
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
            if isinstance(error, TemplateError) and str(error).startswith("No filter named"):
                # Inside an {% if %} Jinja2 only finds an unknown filter when it renders it.
                found = syntax_problem(file, key, str(error), env)
                name = found.details.get("name", "")
                line = next((n for n, text in enumerate(source.splitlines(), 1) if f"| {name}" in text or f"|{name}" in text), None)
                yield "messages", _at_template_line(sources["messages"], found, line)
                continue
            yield "messages", problem(TemplateValue, file, (key,), key=key, error=str(error).rstrip("."))
            continue
        if len(text) > WHATSAPP_LIMIT:
            yield "messages", problem(MessageTooLong, file, (key,), key=key, length=len(text), limit=WHATSAPP_LIMIT)


def syntax_problem(file: str, key: str, message: str, env: Environment) -> FlowProblem:
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


_DOTTED = r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\.{attribute}\b"


def undefined_problem(file: str, key: str, source: str, error: str, context: dict[str, Any], allowed: list[str]) -> FlowProblem:
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
