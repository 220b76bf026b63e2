"""The WhatsApp webhook service: a Starlette app built by ``create_app`` and run by ``main``.

Routes: ``POST /webhook`` (Twilio's incoming messages, answered with TwiML), ``GET /health``
(the process answers) and ``GET /ready`` (flows loaded, sessions in Redis or in the memory
fallback). The app holds no global state: its store, clients and services are built in the
lifespan and closed with it.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from engine.channels.twilio.inbound import (
    Refused,
    parse_form,
    public_url,
    read_body,
    read_delivery,
    signed,
)
from engine.channels.twilio.sender import Sender, sender_for
from engine.channels.twilio.twiml import twiml
from engine.http.api import api_routes, cors
from engine.http.settings import Settings
from engine.logs import LOGGER
from engine.orders.opening import open_order_store
from engine.orders.store import OrderStore
from engine.panel.hub import PanelHub
from engine.panel.routes import panel_routes
from engine.panel.security import panel_config
from engine.runtime.handle import handle as runtime_handle
from engine.runtime.overrides import OVERRIDES_KEY, Overrides
from engine.runtime.phones import mask
from engine.service.admin import AdminDesk, SessionTakeover, StoredOverrides
from engine.service.chat import ChatService, Handle
from engine.service.clock import Clock, real_clock
from engine.service.dedupe import SeenMessages
from engine.service.effects import ErrorReports, Operations, WaitingOrders
from engine.service.locks import CustomerLocks
from engine.service.outbox import Outbox
from engine.service.ratelimit import RateLimiter
from engine.service.retry import RetryPolicy
from engine.service.sessions import Sessions
from engine.storage.fallback import FallbackStore
from engine.storage.jobqueue import FallbackJobQueue, MemoryJobQueue
from engine.storage.redis_jobqueue import RedisJobQueue
from engine.storage.redis_store import RedisStore, connect
from engine.storage.store import LockTimeout, MemoryStore

TWIML = "application/xml"
UNSIGNED_WARNING = (
    "🚨 Sin TWILIO_AUTH_TOKEN: se aceptan webhooks SIN FIRMA. Solo para probar en tu máquina; "
    "en producción el servidor no arranca así."
)


@dataclass
class State:
    """What the lifespan builds and the routes use."""

    service: ChatService
    store: FallbackStore
    validator: RequestValidator | None
    desk: AdminDesk
    outbox: Outbox
    panel: PanelHub


def create_app(
    settings: Settings,
    flows: Any,
    *,
    handle: Handle | None = None,
    clock: Clock | None = None,
    log: logging.Logger | None = None,
    sender: Sender | None = None,
    orders: OrderStore | None = None,
    retry: RetryPolicy | None = None,
) -> Starlette:
    """The service for ``flows`` (loaded by ``engine.loading.pipeline.load_flows``).

    ``handle`` defaults to ``engine.runtime.handle.handle``; ``clock`` to real time in
    the restaurant's time zone (``hours.yaml``); ``sender`` to Twilio when its credentials are set (else the log);
    ``orders`` to the store the settings name (Supabase, else SQLite); ``retry`` to the
    outbox's default policy.
    """
    if handle is None:
        handle = runtime_handle
    clock = clock or real_clock(flows.hours.timezone)
    log = log or logging.getLogger(LOGGER)
    restaurant = flows.restaurant

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, State]]:
        redis = RedisStore(connect(settings.redis_url), settings.redis_key_prefix) if settings.redis_url else None
        memory = MemoryStore(lambda: clock().timestamp())
        sessions_prefix = Sessions.key("")
        store = FallbackStore(
            redis, memory, log, probe_every=settings.redis_probe_seconds,
            carry_over=(sessions_prefix, SeenMessages.key(""), OVERRIDES_KEY),
        )
        await store.start()
        if settings.twilio_auth_token is None:
            log.warning(UNSIGNED_WARNING)
        now = lambda: clock().timestamp()  # noqa: E731
        order_store = orders or await open_order_store(
            settings.supabase_url, str(settings.supabase_key) if settings.supabase_key else None, settings.orders_db_path
        )
        auth = str(settings.twilio_auth_token) if settings.twilio_auth_token else None
        send = sender or sender_for(
            settings.twilio_account_sid, auth, settings.twilio_whatsapp_from, log, api_base=settings.twilio_api_base
        )
        policy = retry or RetryPolicy()
        # Durable queues: messages to send, and orders waiting for the order store.
        queues = {
            name: FallbackJobQueue(
                RedisJobQueue(redis.client, settings.redis_key_prefix, name) if redis is not None else None,
                MemoryJobQueue(now), log, probe_every=settings.redis_probe_seconds,
            )
            for name in ("outbox", "waiting-orders")
        }
        admin = settings.admin_phone_number
        reports: list[ErrorReports] = []
        outbox = Outbox(
            queues["outbox"], send, policy, log, report=lambda failure: reports[0].undeliverable(failure),
            template_sid=settings.admin_template_sid, template_for=admin, now=now,
        )
        errors = ErrorReports(flows, outbox, store, admin, log, now)
        reports.append(errors)
        waiting = WaitingOrders(queues["waiting-orders"], order_store, outbox, admin, policy, log, now)
        sessions = Sessions(store, restaurant.session_minutes)
        locks = CustomerLocks(store)
        panel = PanelHub(store, outbox.enqueue, clock, flows, log)
        desk = AdminDesk(
            flows, order_store, StoredOverrides(store), panel.takeover(SessionTakeover(sessions, locks, flows.hash)),
            lambda event, to, text: outbox.enqueue(event, to, text, "status"), clock, log, replies=panel.conversations,
        )
        operations = panel.effects(Operations(flows, order_store, outbox, waiting, errors, admin, log))
        outbox.start()
        waiting.start()
        service = ChatService(
            flows=flows,
            handle=handle,
            clock=clock,
            store=store,
            sessions=sessions,
            locks=locks,
            seen=SeenMessages(store),
            limiter=RateLimiter(
                store, settings.rate_limit_per_customer, settings.rate_limit_global, lambda: clock().timestamp()
            ),
            effects=operations,
            log=log,
            wait_text=flows.compiled.templates.render("rate_limited", {"restaurant": flows.compiled.restaurant_view}),
            admin_number=admin,
            admin=desk,
            admin_wrote=outbox.wake,
        )
        token = settings.twilio_auth_token
        validator = RequestValidator(str(token)) if token is not None else None
        log.info(
            "🌮 Flujos cargados (%s), sesiones en %s",
            str(getattr(flows, "hash", ""))[:12], "Redis" if store.mode == "redis" else "memoria",
        )
        log.info(
            "📦 Pedidos en %s · 📤 envíos %s",
            "Supabase" if settings.supabase_url else f"SQLite ({settings.orders_db_path})",
            "por Twilio" if settings.sends_through_twilio or sender is not None else "solo al log (sin credenciales de Twilio)",
        )
        try:
            yield {"state": State(service, store, validator, desk, outbox, panel)}
        finally:
            await panel.aclose()
            await outbox.stop()
            await waiting.stop()
            await send.aclose()
            await order_store.close()
            await store.close()
            log.info("👋 Servicio detenido")

    apology = flows.compiled.templates.render("error", {"restaurant": flows.compiled.restaurant_view})

    async def webhook(request: Request) -> Response:
        state: State = request.state.state
        try:
            body = await read_body(request, settings.max_body_bytes)
            form = parse_form(body, request.headers.get("content-type"))
            if state.validator is not None:
                url = public_url(request, settings.public_url)
                if not signed(state.validator, request, url, form):
                    log.warning("⛔ Webhook con firma inválida o sin firma: rechazado")
                    raise Refused(403, "Firma inválida")
            delivery = read_delivery(form)
        except Refused as refused:
            return PlainTextResponse(refused.reason, status_code=refused.status)
        try:
            answer = await state.service.answer(delivery)
        except LockTimeout:
            log.error("⏱️ Otro mensaje del mismo cliente tardó demasiado: se le pide volver a escribir")
            return Response(twiml((apology,), to=delivery.sender), media_type=TWIML)
        except Exception:
            # Twilio does not retry a 5xx by default: the customer gets the flows' apology instead
            # of silence, and may write again (the message was not marked as handled).
            log.exception("❗ Falla al atender un mensaje de %s", mask(delivery.sender))
            return Response(twiml((apology,), to=delivery.sender), media_type=TWIML)
        return Response(twiml(answer.replies, to=delivery.sender), media_type=TWIML)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> Response:
        state: State = request.state.state
        sessions = "redis" if await state.store.probe() else "memory"
        return JSONResponse({"status": "ready", "flows": getattr(flows, "hash", None), "sessions": sessions})

    def desk_of(request: Request) -> AdminDesk:
        return request.state.state.desk

    async def overrides_of(request: Request) -> Overrides:
        return await StoredOverrides(request.state.state.store).load()

    return Starlette(
        routes=[
            Route("/webhook", webhook, methods=["POST"]),
            Route("/health", health, methods=["GET", "HEAD"]),
            Route("/ready", ready, methods=["GET", "HEAD"]),
            *api_routes(flows, settings.admin_api_token, desk_of, overrides_of, clock),
            *panel_routes(flows, panel_config(settings.panel_password, settings.panel_secret, settings.production),
                          desk_of, lambda request: request.state.state.panel, clock, log),
        ],
        middleware=cors(settings.frontend_url),
        lifespan=lifespan,
    )
