"""Messages named by the flow exist, the ones the engine says on its own are written, none is forgotten."""

from __future__ import annotations

from engine.loading.checks.common import Found, close_to, file_of
from engine.loading.problems import FlowProblem, problem
from engine.loading.source import Source
from engine.model.steps import ChoiceStep
from engine.runtime import context as ctx
from engine.runtime.flows import Flows

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
    "stale_tap": "cuando tocan un botón de un mensaje anterior (luego repite la pregunta)",
    "phone_invalid": "cuando el número de contacto no es válido",
    "error": "la disculpa cuando algo falla",
    "admin_new_order": "el aviso de pedido nuevo al encargado",
    "admin_handover": "el aviso al encargado cuando piden hablar con alguien",
    "order_status": "el aviso al cliente cuando cambia el estado de su pedido",
    "order_saved_later": "cuando el pedido se guarda pero su número llega después",
    "rate_limited": "cuando un cliente manda demasiados mensajes seguidos",
    "item_changed": "confirma un cambio en el pedido (cantidad, opción, platillo) y el nuevo total",
    "lines_added": "confirma varios platillos agregados en un solo mensaje",
    "item_queued": "cuando piden otro platillo mientras el bot pregunta por uno: queda anotado para después",
    "which_item": "pregunta cuál platillo cuando un nombre sirve para varios («una quesadilla»)",
    "which_line": "pregunta cuál línea del pedido cuando un cambio sirve para varias",
    "not_in_cart": "cuando piden quitar algo que no está en el pedido",
    "media_received": "cuando mandan una foto, un audio o un sticker sin texto",
    "answer_unknown": "cuando preguntan algo que el bot no sabe contestar",
}
"""What each built-in message is for, for the people who must write it."""


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
    for index, question in enumerate(flows.order.questions):
        uses.setdefault(question.say, []).append((("questions", index, "say"), ctx.QUESTION_EXTRAS))
    return uses


def check_messages_exist(flows: Flows, sources: dict[str, Source]) -> Found:
    for key, places in message_uses(flows).items():
        if key not in flows.messages:
            for path, _ in places:
                yield "order", problem(UnknownMessage, file_of(sources, "order"), path, key=key, close=close_to(key, flows.messages))
    for key in BUILTIN_MESSAGES:
        if key not in flows.messages:
            yield "messages", problem(MissingBuiltinMessage, file_of(sources, "messages"), (), key=key, purpose=PURPOSES.get(key, key))


def check_unused_messages(flows: Flows, sources: dict[str, Source]) -> Found:
    uses = message_uses(flows)
    if any(key not in flows.messages for key in uses):
        return  # a misspelt key makes the message it meant look unused
    used = set(uses) | set(BUILTIN_MESSAGES)
    for key in flows.messages:
        if key not in used:
            found = problem(UnusedMessage, file_of(sources, "messages"), (key,), key=key)
            found.severity = "warning"
            yield "messages", found
