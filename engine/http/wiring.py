"""The service's parts, built in one place: ``open_services`` opens the clients, starts the
workers and hands back ``Services``; leaving it stops and closes them, in reverse order.

The app's lifespan holds the ``Services`` (no global state) and every route reads them from its
request with ``services_of``: a new group of routes needs nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis
from starlette.requests import Request
from twilio.request_validator import RequestValidator

from engine.channels.twilio.content import ContentMap
from engine.channels.twilio.sender import Sender, sender_for
from engine.http.content import content_at_start, content_client
from engine.http.settings import Settings
from engine.logs import LOGGER
from engine.orders.opening import open_order_store
from engine.orders.store import OrderStore, OrderStoreUnavailable
from engine.panel.hub import PanelHub
from engine.runtime.flows import Flows
from engine.runtime.overrides import OVERRIDES_KEY
from engine.service.admin import AdminDesk
from engine.service.admin_overrides import StoredOverrides
from engine.service.chat import (
    AdminLine,
    Admission,
    ChatService,
    Conversations,
    Runtime,
)
from engine.service.buttons import ButtonTurns, LoadedContent
from engine.service.clock import Clock, real_clock
from engine.service.courier import Courier
from engine.service.dedupe import MARKS_IN_MEMORY, SeenMessages
from engine.service.durable import DurableQueue
from engine.service.effects import Operations
from engine.service.errors import ErrorReports
from engine.service.locks import CustomerLocks
from engine.service.optouts import OptOuts
from engine.service.outbox import Outbox
from engine.service.ratelimit import RateLimiter
from engine.service.retry import RetryPolicy
from engine.service.sessions import SESSIONS_IN_MEMORY, Sessions
from engine.service.takeover import CustomerTakeover, SessionTakeover
from engine.service.waiting import WaitingOrders
from engine.storage.fallback import FallbackStore
from engine.storage.jobqueue import FallbackJobQueue, MemoryJobQueue
from engine.storage.redis_jobqueue import RedisJobQueue
from engine.storage.redis_line import RedisLine
from engine.storage.redis_store import RedisStore, connect
from engine.storage.store import MemoryStore

SERVICES = "services"
"""The name of the ``Services`` in the lifespan's state (``request.state.services``)."""
UNSIGNED_WARNING = (
    "🚨 Sin TWILIO_AUTH_TOKEN: se aceptan webhooks SIN FIRMA. Solo para probar en tu máquina; "
    "en producción el servidor no arranca así."
)
STATUS_CALLBACK_PATH = "/twilio/status"
"""Where Twilio posts the statuses of the messages sent (``engine.http.status``)."""
CARRIED_OVER = (Sessions.key(""), SeenMessages.key(""), SeenMessages.replies_key(""), OVERRIDES_KEY)
"""Keys kept in memory too while Redis works, so conversations go on when it goes away (the
handled message ids and their replies within ``MARKS_IN_MEMORY``, the sessions within
``SESSIONS_IN_MEMORY``)."""


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
    callback_wait: float = 3.0
    """How long a status callback for a message not recorded yet waits for it (seconds)."""
    content: ContentMap | None = None
    """The flows' Content templates. Default: prepared through the Content API at start, in the
    background (``engine.http.content``), when the sender is the settings' own; with a given sender
    and no content, none (every question goes out as numbered text)."""


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
    takeover: CustomerTakeover
    """A person takes a customer over from the bot, or gives them back."""
    desk: AdminDesk
    """The admin's commands, order statuses (customers are told) and the orders' view."""
    outbox: Outbox
    """Every WhatsApp message sent outside a webhook's reply, queued in the order store."""
    courier: Courier
    """Sends what the outbox holds, and records Twilio's status callbacks."""
    waiting: WaitingOrders
    """Orders waiting for the order store to answer."""
    chat: ChatService
    """Answers the webhook's deliveries."""
    apology: str
    """The flows' ``error`` message, for a delivery that could not be answered."""
    validator: RequestValidator | None
    """Checks Twilio's signatures (None: no ``TWILIO_AUTH_TOKEN``, unsigned webhooks accepted)."""
    panel: PanelHub
    """What the web panel keeps beside the service: the taken-over conversations and the day's step tally."""
    content: LoadedContent
    """The flows' buttons and lists as Content templates, once prepared (until then: numbered text)."""


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

    queues: Redis | None
    """The job queues' client (redis-py: they use its pipelines); None without ``REDIS_URL``."""
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
            services, workers = assemble(settings, flows, clients, clock, log, given.retry, given.callback_wait,
                                         twilio=settings.sends_through_twilio or given.sender is not None)
            stack.push_async_callback(services.panel.aclose)
            if given.content is not None:
                services.content.map = given.content
            elif given.sender is None:
                stack.push_async_callback(prepare_content(settings, flows, clients.store, services.content, log))
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


def prepare_content(
    settings: Settings, flows: Flows, store: FallbackStore, loaded: LoadedContent, log: logging.Logger
) -> Callable[[], Awaitable[None]]:
    """Start preparing the flows' templates in the background (the start does not wait on the
    Content API); what stops it, for the exit stack."""
    client = content_client(settings)

    async def prepare() -> None:
        try:
            loaded.map = await content_at_start(flows, store, client, log)
        except Exception:  # noqa: BLE001  without templates the bot still answers, in text
            log.exception("❗ Falla al preparar los botones: las opciones salen como texto numerado")
        finally:
            if client is not None:
                await client.aclose()

    task = asyncio.create_task(prepare(), name="content")

    async def stop() -> None:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

    return stop


async def open_clients(
    stack: AsyncExitStack, settings: Settings, given: Given, log: logging.Logger, now: Callable[[], float]
) -> Clients:
    """Redis (with the memory fallback), the order store and the sender, each closed by ``stack``."""
    redis = RedisStore(RedisLine.from_url(settings.redis_url), settings.redis_key_prefix) if settings.redis_url else None
    memory = MemoryStore(now, MARKS_IN_MEMORY, SESSIONS_IN_MEMORY)
    store = FallbackStore(redis, memory, log, probe_every=settings.redis_probe_seconds, carry_over=CARRIED_OVER)
    stack.push_async_callback(store.close)
    queues = connect(settings.redis_url) if settings.redis_url else None
    if queues is not None:
        stack.push_async_callback(queues.aclose)
    await store.start()
    if settings.twilio_auth_token is None:
        log.warning(UNSIGNED_WARNING)
    supabase_key = str(settings.supabase_key) if settings.supabase_key else None
    orders = given.orders or await open_order_store(settings.supabase_url, supabase_key, settings.orders_db_path)
    stack.push_async_callback(orders.close)
    await check_queue(orders, log, now)
    auth = str(settings.twilio_auth_token) if settings.twilio_auth_token else None
    callback = settings.public_url + STATUS_CALLBACK_PATH if settings.public_url else None
    sender = given.sender or sender_for(
        settings.twilio_account_sid, auth, settings.twilio_whatsapp_from, log, api_base=settings.twilio_api_base,
        status_callback=callback,
    )
    stack.push_async_callback(sender.aclose)
    return Clients(queues, store, orders, sender)


async def check_queue(orders: OrderStore, log: logging.Logger, now: Callable[[], float]) -> None:
    """The order store's queue answers, or the service does not start: a Supabase project without
    the outbox migration would keep every order and notice waiting for ever. A store that cannot
    be reached now is no reason not to start (what is sent waits in Redis meanwhile)."""
    try:
        await orders.queue(now).pending()
    except OrderStoreUnavailable as error:
        log.warning("⚠️ La base de pedidos no responde al arrancar (%s): los mensajes esperan en Redis", error)


def assemble(
    settings: Settings, flows: Flows, clients: Clients, clock: Clock, log: logging.Logger, retry: RetryPolicy,
    callback_wait: float = 3.0,
    twilio: bool = False,
) -> tuple[Services, tuple[Worker, ...]]:
    """The services on ``clients``, and the workers to start for them (``twilio``: the sender
    sends through Twilio, so turns with buttons may go out as Content templates)."""
    store, orders, admin = clients.store, clients.orders, settings.admin_phone_number

    def now() -> float:
        return clock().timestamp()

    def job_queue(name: str) -> FallbackJobQueue:
        """A durable queue: in Redis (shared, kept across restarts) while it answers."""
        queues = clients.queues
        shared = RedisJobQueue(queues, settings.redis_key_prefix, name) if queues is not None else None
        return FallbackJobQueue(shared, MemoryJobQueue(now), log, probe_every=settings.redis_probe_seconds)

    # What waits to be sent lives in the order store, as durable as the orders; Redis (or memory)
    # only while the order store cannot be reached.
    outbox_queue = DurableQueue(orders.queue(now), job_queue("outbox"), log, now)
    optouts = OptOuts(store)
    outbox = Outbox(outbox_queue, now, optouts)
    errors = ErrorReports(flows, outbox, store, admin, log, now)
    courier = Courier(outbox, clients.sender, retry, log, errors.undeliverable,
                      template_sid=settings.admin_template_sid, template_for=admin, deliveries=outbox_queue,
                      early_wait=callback_wait)
    waiting = WaitingOrders(job_queue("waiting-orders"), orders, outbox, admin, retry, log, now)
    sessions = Sessions(store, flows.restaurant.session_minutes)
    locks = CustomerLocks(store)
    overrides = StoredOverrides(store)
    panel = PanelHub(store, outbox.enqueue, clock, flows, log)
    takeover = panel.takeover(SessionTakeover(sessions, locks, flows.hash))
    content = LoadedContent()

    async def tell_customer(event: str, customer: str, text: str) -> bool:
        return await outbox.enqueue(event, customer, text, "status")

    desk = AdminDesk(flows, orders, overrides, takeover, tell_customer, clock, log, replies=panel.conversations)

    def say(key: str) -> str:
        return flows.compiled.templates.render(key, {"restaurant": flows.compiled.restaurant_view})

    chat = ChatService(
        Runtime(flows, clock),
        Admission(SeenMessages(),
                  RateLimiter(store, settings.rate_limit_per_customer, settings.rate_limit_global, now),
                  say("rate_limited")),
        Conversations(sessions, locks, optouts),
        panel.effects(Operations(flows, orders, outbox, waiting, errors, admin, log)),
        AdminLine(admin, desk, outbox.wake) if admin is not None else None,
        log,
        ButtonTurns(flows, outbox, content) if twilio else None,
    )
    token = settings.twilio_auth_token
    validator = RequestValidator(str(token)) if token is not None else None
    services = Services(
        settings=settings, flows=flows, clock=clock, log=log, store=store, orders=orders, overrides=overrides,
        sessions=sessions, takeover=takeover, desk=desk, outbox=outbox, courier=courier, waiting=waiting, chat=chat, apology=say("error"),
        validator=validator, panel=panel, content=content,
    )
    return services, (waiting, courier)
