"""Buttons and lists: each question the bot offers as WhatsApp buttons or a list must fit them.

What a question offers comes from ``engine.runtime.choices_view`` (the same decision the sender
follows), and so do the limits, each with its source there: a reply button's title holds 20
characters, a list item's 24 and its description 72, a list 10 items, and the text the buttons
come with 1,024 characters. A question that does not fit still works, as numbered text, so every
problem here is a warning: it says what the customer would lose and how to keep it.
"""

from __future__ import annotations

from typing import Any, Iterator

from jinja2 import TemplateError

from engine.loading.checks.common import Found, file_of, sample_hours
from engine.loading.problems import FlowProblem, Path, problem
from engine.loading.source import Source
from engine.model.steps import ChoiceStep, ConfirmStep
from engine.runtime import context as ctx
from engine.runtime.choices_view import (
    BODY_LIMIT,
    DESCRIPTION_LIMIT,
    MAX_LIST_ITEMS,
    OPTION_MESSAGE,
    Offer,
    offers,
)
from engine.runtime.flows import Flows
from engine.runtime.views import item_view


class ButtonTitleTooLong(FlowProblem):
    text = {
        "es": "La opción «{title}» de «{question}» tiene {length} caracteres; en un botón de WhatsApp caben {limit}.",
        "en": "Option '{title}' of '{question}' has {length} characters; a WhatsApp button holds {limit}.",
    }
    fix = {
        "es": "Escribe un «title:» más corto para esa opción (el mensaje sigue diciendo su nombre completo), "
              "o «buttons: false» en «{question}» para preguntarla solo con texto.",
        "en": "Give that option a shorter 'title:' (the message still says its full name), "
              "or write 'buttons: false' in '{question}' to ask it with text only.",
    }


class ListTitleTooLong(FlowProblem):
    text = {
        "es": "La opción «{title}» de «{question}» tiene {length} caracteres; en una lista de WhatsApp caben {limit}.",
        "en": "Option '{title}' of '{question}' has {length} characters; a WhatsApp list item holds {limit}.",
    }
    fix = {
        "es": "Escribe un «title:» más corto para esa opción (el mensaje sigue diciendo su nombre completo), "
              "o «buttons: false» en «{question}» para preguntarla solo con texto.",
        "en": "Give that option a shorter 'title:' (the message still says its full name), "
              "or write 'buttons: false' in '{question}' to ask it with text only.",
    }


class ListDescriptionTooLong(FlowProblem):
    text = {
        "es": "La descripción de «{title}» en «{question}» tiene {length} caracteres; en una lista de WhatsApp caben {limit}.",
        "en": "The description of '{title}' in '{question}' has {length} characters; a WhatsApp list holds {limit}.",
    }
    fix = {"es": "Acórtala a {limit} caracteres o bórrala.", "en": "Shorten it to {limit} characters or delete it."}


class TooManyOptions(FlowProblem):
    text = {
        "es": "«{question}» tiene {count} opciones; una lista de WhatsApp muestra hasta {limit}, así que irán como texto numerado.",
        "en": "'{question}' has {count} options; a WhatsApp list shows up to {limit}, so they will go as numbered text.",
    }
    fix = {
        "es": "Déjalas en {limit} o menos (o divide la pregunta en dos pasos); si así está bien, escribe «buttons: false» en «{question}».",
        "en": "Keep {limit} or fewer (or split the question in two steps); if text is fine, write 'buttons: false' in '{question}'.",
    }


class SameButtonTitle(FlowProblem):
    text = {
        "es": "Dos opciones de «{question}» se verían igual: «{title}»; WhatsApp no acepta botones repetidos.",
        "en": "Two options of '{question}' would look the same: '{title}'; WhatsApp refuses repeated buttons.",
    }
    fix = {"es": "Dale a cada una un «title:» distinto.", "en": "Give each its own 'title:'."}


class ButtonBodyTooLong(FlowProblem):
    text = {
        "es": "El mensaje «{key}» puede llegar a {length} caracteres; con botones o lista WhatsApp acepta hasta {limit}, "
              "así que esa vez «{question}» irá como texto numerado.",
        "en": "Message '{key}' can reach {length} characters; with buttons or a list WhatsApp accepts up to {limit}, "
              "so that time '{question}' will go as numbered text.",
    }
    fix = {
        "es": "Acórtalo (con un pedido largo se pasa), o escribe «buttons: false» en «{question}».",
        "en": "Shorten it (a long order makes it overflow), or write 'buttons: false' in '{question}'.",
    }


def check_buttons(flows: Flows, sources: dict[str, Source]) -> Found:
    """Each question offered as buttons or a list: its titles, descriptions, size and text fit."""
    seen: set[tuple[str, str, Path]] = set()
    for offer in offers(flows):
        for kind, found in _problems(flows, sources, offer):
            mark = (type(found).__name__, found.file, found.path)
            if mark not in seen:  # an option group asked by two order steps is one place in menu.yaml
                seen.add(mark)
                found.severity = "warning"
                yield kind, found


def _problems(flows: Flows, sources: dict[str, Source], offer: Offer) -> Iterator[tuple[str, FlowProblem]]:
    question = offer.group or offer.step
    kind, file = ("menu", file_of(sources, "menu")) if offer.group else ("order", file_of(sources, "order"))
    if offer.turned_off:
        return
    if offer.kind == "none":
        if len(offer.options) > MAX_LIST_ITEMS:
            yield kind, problem(TooManyOptions, file, _choices_path(offer), question=question,
                                count=len(offer.options), limit=MAX_LIST_ITEMS)
        return
    titles: dict[str, int] = {}
    for index, option in enumerate(offer.options):
        if len(option.title) > offer.title_limit:
            too_long = ListTitleTooLong if offer.kind == "list" else ButtonTitleTooLong
            yield kind, problem(too_long, file, _title_path(flows, offer, index), question=question,
                                title=option.title, length=len(option.title), limit=offer.title_limit)
        if offer.kind == "list" and len(option.description) > DESCRIPTION_LIMIT:
            yield kind, problem(ListDescriptionTooLong, file, (*_choices_path(offer), index, "description"),
                                question=question, title=option.title, length=len(option.description),
                                limit=DESCRIPTION_LIMIT)
        if option.title in titles:
            yield kind, problem(SameButtonTitle, file, _title_path(flows, offer, index), question=question,
                                title=option.title)
        titles.setdefault(option.title, index)
    length = _longest_body(flows, offer)
    if length > BODY_LIMIT:
        yield "messages", problem(ButtonBodyTooLong, file_of(sources, "messages"), (offer.message,),
                                  key=offer.message, question=question, length=length, limit=BODY_LIMIT)


def _choices_path(offer: Offer) -> Path:
    return ("options", offer.group, "choices") if offer.group else ("steps", offer.step, "choices")


def _title_path(flows: Flows, offer: Offer, index: int) -> Path:
    """Where an option's title is written: its ``title:``, else its name (or, for yes and no, the step)."""
    if offer.group:
        choice = flows.menu.options[offer.group].choices[index]
        return (*_choices_path(offer), index, "title" if choice.title else "name")
    step = flows.order.steps[offer.step]
    if isinstance(step, ConfirmStep):
        field = "yes_title" if index == 0 else "no_title"
        return ("steps", step.id, field) if getattr(step, field) else ("steps", step.id)
    assert isinstance(step, ChoiceStep)
    return (*_choices_path(offer), index, "title" if step.choices[index].title else "name")


def _longest_body(flows: Flows, offer: Offer) -> int:
    """The longest the asking message gets with a long sample order (0 when it cannot be shown:
    the template checks report why)."""
    if offer.message not in flows.messages:
        return 0
    templates = flows.compiled.templates  # the restaurant's own, as the message is sent (compiled once for both)
    session, hours, customer = ctx.sample_session(flows), sample_hours(flows), ctx.sample_customer()
    longest = 0
    try:
        for extras in _extras(flows, offer):
            text = templates.render(offer.message, ctx.build_context(flows, session, customer, hours, "x" * 200, extras))
            longest = max(longest, len(text))
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError):
        return 0
    return longest


def _extras(flows: Flows, offer: Offer) -> Iterator[dict[str, Any]]:
    """The extra variables the asking message gets: a choice step's choices; for an option group,
    each item that has it, with that item's prices."""
    if offer.group is None:
        step = flows.order.steps[offer.step]
        yield {"choices": [{"id": c.id, "name": c.name} for c in step.choices]} if isinstance(step, ChoiceStep) else {}
        return
    assert offer.message == OPTION_MESSAGE
    group = flows.menu.options[offer.group]
    for item in (i for i in flows.menu.items.values() if group.id in i.options):
        yield {
            "item": item_view(item),
            "option": {"id": group.id, "question": group.question},
            "choices": [{"id": c.id, "name": c.name, "price": item.choice_price(c)} for c in group.choices],
        }
