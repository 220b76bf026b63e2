"""Customers a person is talking to: the list (live), answering through the bot's number,
taking a customer and handing them back to the bot."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.panel.security import Visit
from engine.panel.web.common import Handler, Web, read_form
from engine.runtime.phones import mask, parse_phone

ANSWER_LIMIT = 1500


def conversation_routes(web: Web) -> list[BaseRoute]:
    async def listed(request: Request) -> dict[str, Any]:
        talks = await web.hub_of(request).conversations.current()
        return {"conversations": [
            {"id": "".join(ch for ch in t.customer if ch.isdigit()), "customer": t.customer,
             "until": web.local(t.until).strftime("%H:%M"),
             "messages": [{"who": m.who, "text": m.text, "time": web.local(m.at).strftime("%H:%M")} for m in t.messages]}
            for t in talks
        ]}

    async def conversations(request: Request, visit: Visit) -> Response:
        return web.page(request, visit, "conversations.html", "conversations", **(await listed(request)))

    async def conversations_part(request: Request, visit: Visit) -> Response:
        return web.part("conversations_fragment.html", visit, **(await listed(request)))

    async def customer_of(request: Request) -> str | None:
        raw = str((await read_form(request)).get("customer", ""))
        return parse_phone(raw, web.flows.restaurant.country) if raw else None

    async def answer(request: Request, visit: Visit) -> Response:
        customer = await customer_of(request)
        text = str((await read_form(request)).get("text", "")).strip()
        log = web.hub_of(request).conversations
        if customer is None or customer not in await log.held():
            return web.problem(request, visit, "Ese cliente no está con una persona ahora: tómalo primero.", 409)
        if not text:
            return web.problem(request, visit, "Escribe la respuesta.")
        await log.reply(customer, text[:ANSWER_LIMIT])
        web.log.info("💬 El equipo le contestó a %s desde el panel", mask(customer))
        return web.done(request, "/panel/conversaciones", "Enviado.")

    def hand_over(take: bool) -> Handler:
        async def endpoint(request: Request, visit: Visit) -> Response:
            customer = await customer_of(request)
            if customer is None:
                return web.problem(request, visit, "Ese número no parece válido: escríbelo con lada, ej. +52 55 1234 5678.")
            return web.done(request, "/panel/conversaciones", await web.desk_of(request).hand_over(take, customer))

        return endpoint

    return [
        Route("/panel/conversaciones", web.signed_in(conversations), methods=["GET"]),
        Route("/panel/conversaciones/lista", web.signed_in(conversations_part), methods=["GET"]),
        Route("/panel/conversaciones/responder", web.signed_in(answer), methods=["POST"]),
        Route("/panel/conversaciones/tomar", web.signed_in(hand_over(True)), methods=["POST"]),
        Route("/panel/conversaciones/soltar", web.signed_in(hand_over(False)), methods=["POST"]),
    ]
