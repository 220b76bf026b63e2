"""The service's parts, built in one place: ``open_services`` opens the clients, starts the
workers and hands back ``Services``; leaving it stops and closes them, in reverse order.

The app's lifespan holds the ``Services`` (no global state) and every route reads them from its
request with ``services_of``: a new group of routes needs nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from starlette.requests import Request
from twilio.request_validator import RequestValidator

from engine.channels.twilio.sender import Sender, sender_for
from engine.http.settings import Settings
from engine.logs import LOGGER
from engine.orders.opening import open_order_store
from engine.orders.store import OrderStore
from engine.runtime.flows import Flows
from engine.runtime.overrides import OVERRIDES_KEY
from engine.service.admin import AdminDesk, SessionTakeover, StoredOverrides
from engine.service.chat import (
    AdminLine,
    Admission,
    ChatService,
    Conversations,
    Runtime,
)
from engine.service.clock import Clock, real_clock
from engine.service.courier import Courier
from engine.service.dedupe import SeenMessages
from engine.service.effects import Operations
from engine.service.errors import ErrorReports
from engine.service.locks import CustomerLocks
from engine.service.optouts import OptOuts
from engine.service.outbox import Outbox
from engine.service.ratelimit import RateLimiter
from engine.service.retry import RetryPolicy
from engine.service.sessions import Sessions
from engine.service.waiting import WaitingOrders
from engine.storage.fallback import FallbackStore
from engine.storage.jobqueue import FallbackJobQueue, MemoryJobQueue
from engine.storage.redis_jobqueue import RedisJobQueue
from engine.storage.redis_store import RedisStore, connect
from engine.storage.store import MemoryStore

SERVICES = "services"
"""The name of the ``Services`` in the lifespan's state (``request.state.services``)."""
UNSIGNED_WARNING = (
    "🚨 Sin TWILIO_AUTH_TOKEN: se aceptan webhooks SIN FIRMA. Solo para probar en tu máquina; "
    "en producción el servidor no arranca así."
)
CARRIED_OVER = (Sessions.key(""), SeenMessages.key(""), OVERRIDES_KEY)
"""Keys kept in memory too while Redis works, so conversations go on when it goes away."""


@dataclass(frozen=True, slots=True)
class Given:
    """Parts brought by the caller instead of the ones the settings describe (tests, benchmarks)."""

    clock: Clock | None = None
    """Default: real time in the restaurant's zone (``hours.yaml``)."""
    log: logging.Logger | None = None
    """Default: the ``rinconcito`` logger."""
    sender: Sender | None = None
    """Default: Twilio when its credentials are set, else the log. Closed with the services."""
    orders: OrderStore | None = None
    """Default: Supabase when its URL and key are set, else SQLite. Closed with the services."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """How the courier and the waiting orders try again."""


@dataclass(frozen=True, slots=True)
class Services:
    """What the routes use, built once per app by ``open_services``."""

    settings: Settings
    flows: Flows
    """What the bot says and sells, checked."""
    clock: Clock
    """The service's time, in the restaurant's zone."""
    log: logging.Logger
    store: FallbackStore
    """Sessions, seen message ids, rate limits, overrides: Redis while it answers, else memory."""
    orders: OrderStore
    """Confirmed orders (Supabase or SQLite)."""
    overrides: StoredOverrides
    """The admin's changes (closed, sold out), shared by every instance."""
    sessions: Sessions
    """Customers' conversations between messages."""
    takeover: SessionTakeover
    """A person takes a customer over from the bot, or gives them back."""
    desk: AdminDesk
    """The admin's commands, order statuses (customers are told) and the orders' view."""
    outbox: Outbox
    """Every WhatsApp message sent outside a webhook's reply."""
    chat: ChatService
    """Answers the webhook's deliveries."""
    apology: str
    """The flows' ``error`` message, for a delivery that could not be answered."""
    validator: RequestValidator | None
    """Checks Twilio's signatures (None: no ``TWILIO_AUTH_TOKEN``, unsigned webhooks accepted)."""


def services_of(request: Request) -> Services:
    """The ``Services`` of the app serving ``request``."""
    services = getattr(request.state, SERVICES, None)
    if not isinstance(services, Services):
        raise RuntimeError("the app's lifespan has not run: no services for this request")
    return services


class Worker(Protocol):
    """A task running beside the routes (the courier, the waiting orders)."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Clients:
    """The connections the services are built on, opened by ``open_clients``."""

    redis: RedisStore | None
    """None without ``REDIS_URL``."""
    store: FallbackStore
    orders: OrderStore
    sender: Sender


@asynccontextmanager
async def open_services(settings: Settings, flows: Flows, given: Given = Given()) -> AsyncIterator[Services]:
    """The ``Services`` for ``flows`` and ``settings``, workers running, until the block ends."""
    clock = given.clock or real_clock(flows.hours.timezone)
    log = given.log or logging.getLogger(LOGGER)
    try:
        async with AsyncExitStack() as stack:
            clients = await open_clients(stack, settings, given, log, lambda: clock().timestamp())
            services, workers = assemble(settings, flows, clients, clock, log, given.retry)
            for worker in workers:
                worker.start()
                stack.push_async_callback(worker.stop)
            log.info("🌮 Flujos cargados (%s), sesiones en %s", flows.hash[:12],
                     "Redis" if clients.store.mode == "redis" else "memoria")
            log.info(
                "📦 Pedidos en %s · 📤 envíos %s",
                "Supabase" if settings.supabase_url else f"SQLite ({settings.orders_db_path})",
                "por Twilio" if settings.sends_through_twilio or given.sender is not None
                else "solo al log (sin credenciales de Twilio)",
            )
            yield services
    finally:
        log.info("👋 Servicio detenido")


async def open_clients(
    stack: AsyncExitStack, settings: Settings, given: Given, log: logging.Logger, now: Callable[[], float]
) -> Clients:
    """Redis (with the memory fallback), the order store and the sender, each closed by ``stack``."""
    redis = RedisStore(connect(settings.redis_url), settings.redis_key_prefix) if settings.redis_url else None
    store = FallbackStore(redis, MemoryStore(now), log, probe_every=settings.redis_probe_seconds,
                          carry_over=CARRIED_OVER)
    stack.push_async_callback(store.close)
    await store.start()
    if settings.twilio_auth_token is None:
        log.warning(UNSIGNED_WARNING)
    supabase_key = str(settings.supabase_key) if settings.supabase_key else None
    orders = given.orders or await open_order_store(settings.supabase_url, supabase_key, settings.orders_db_path)
    stack.push_async_callback(orders.close)
    auth = str(settings.twilio_auth_token) if settings.twilio_auth_token else None
    sender = given.sender or sender_for(
        settings.twilio_account_sid, auth, settings.twilio_whatsapp_from, log, api_base=settings.twilio_api_base
    )
    stack.push_async_callback(sender.aclose)
    return Clients(redis, store, orders, sender)


def assemble(
    settings: Settings, flows: Flows, clients: Clients, clock: Clock, log: logging.Logger, retry: RetryPolicy
) -> tuple[Services, tuple[Worker, ...]]:
    """The services on ``clients``, and the workers to start for them."""
    store, orders, admin = clients.store, clients.orders, settings.admin_phone_number

    def now() -> float:
        return clock().timestamp()

    def job_queue(name: str) -> FallbackJobQueue:
        """A durable queue: in Redis (shared, kept across restarts) while it answers."""
        redis = clients.redis
        shared = RedisJobQueue(redis.client, settings.redis_key_prefix, name) if redis is not None else None
        return FallbackJobQueue(shared, MemoryJobQueue(now), log, probe_every=settings.redis_probe_seconds)

    optouts = OptOuts(store)
    outbox = Outbox(job_queue("outbox"), now, optouts)
    errors = ErrorReports(flows, outbox, store, admin, log, now)
    courier = Courier(outbox, clients.sender, retry, log, errors.undeliverable,
                      template_sid=settings.admin_template_sid, template_for=admin)
    waiting = WaitingOrders(job_queue("waiting-orders"), orders, outbox, admin, retry, log, now)
    sessions = Sessions(store, flows.restaurant.session_minutes)
    locks = CustomerLocks(store)
    overrides = StoredOverrides(store)
    takeover = SessionTakeover(sessions, locks, flows.hash)

    async def tell_customer(event: str, customer: str, text: str) -> bool:
        return await outbox.enqueue(event, customer, text, "status")

    desk = AdminDesk(flows, orders, overrides, takeover, tell_customer, clock, log)
    def say(key: str) -> str:
        return flows.compiled.templates.render(key, {"restaurant": flows.compiled.restaurant_view})

    chat = ChatService(
        Runtime(flows, clock),
        Admission(store, SeenMessages(store),
                  RateLimiter(store, settings.rate_limit_per_customer, settings.rate_limit_global, now),
                  say("rate_limited")),
        Conversations(sessions, locks, optouts),
        Operations(flows, orders, outbox, waiting, errors, admin, log),
        AdminLine(admin, desk, outbox.wake) if admin is not None else None,
        log,
    )
    token = settings.twilio_auth_token
    validator = RequestValidator(str(token)) if token is not None else None
    services = Services(
        settings=settings, flows=flows, clock=clock, log=log, store=store, orders=orders, overrides=overrides,
        sessions=sessions, takeover=takeover, desk=desk, outbox=outbox, chat=chat, apology=say("error"),
        validator=validator,
    )
    return services, (waiting, courier)
