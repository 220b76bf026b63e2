"""The admin's WhatsApp: messages from ``ADMIN_PHONE_NUMBER`` are commands, never orders.

``#pedidos``, ``#pedido 1042``, ``#preparando|#listo|#entregado|#cancelar 1042``, ``#cerrar``,
``#abrir``, ``#agotado flan``, ``#disponible flan``, ``#tomar +52...``, ``#soltar +52...``,
``#responder 5678 texto``, ``#ayuda``. Every reply is a message of the flows (``admin_*``), like everything the bot says.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Awaitable, Callable, Protocol
from zoneinfo import ZoneInfo

from engine.model.order import STATUSES, StoredOrder
from engine.model.session import Session
from engine.orders.store import OrderStore
from engine.runtime import cart as carts
from engine.runtime.flows import Flows
from engine.runtime.overrides import OVERRIDES_KEY, Overrides
from engine.runtime.phones import parse_phone
from engine.runtime.understand import best_matches, closest, normalise

STATUS_COMMANDS = {"preparando": "preparando", "listo": "listo", "entregado": "entregado", "cancelar": "cancelado"}
"""Command -> the status it sets."""


@dataclass(frozen=True, slots=True)
class AdminCommand:
    name: str
    """Without the ``#``, lower case, no accents; "" when the message is not a command at all."""
    argument: str


def parse_command(text: str) -> AdminCommand:
    stripped = text.strip()
    if not stripped.startswith("#"):
        return AdminCommand("", stripped)
    name, _, argument = stripped[1:].partition(" ")
    return AdminCommand(normalise(name), argument.strip())


class OverridesStore(Protocol):
    async def load(self) -> Overrides: ...

    async def save(self, overrides: Overrides) -> None: ...


class CustomerTakeover(Protocol):
    async def take(self, customer: str, until: datetime) -> None:
        """A person handles ``customer`` until ``until``: the bot stays quiet."""
        ...

    async def release(self, customer: str) -> None: ...


class StaffReplies(Protocol):
    """The conversations a person holds (``engine.panel.conversations.Conversations``)."""

    async def held(self) -> list[str]:
        """Customers a person handles now."""
        ...

    async def reply(self, customer: str, text: str) -> None:
        """Send ``text`` to ``customer`` through the bot's number, and keep it with the conversation."""
        ...


NotifyCustomer = Callable[[str, str, str], Awaitable[Any]]
"""(event id, customer number, text): queue a WhatsApp message for a customer."""


def order_view(flows: Flows, stored: StoredOrder) -> dict[str, Any]:
    """A stored order as the admin messages see it."""
    names = flows.compiled.answer_names
    return {
        "number": stored.number,
        "status": stored.status,
        "name": stored.name,
        "customer": stored.customer,
        "contact": stored.contact,
        "lines": [
            {"description": carts.label(line.quantity, line.name, line.option_names), "total": line.total}
            for line in stored.lines
        ],
        "subtotal": stored.subtotal,
        "delivery_fee": stored.delivery_fee,
        "total": stored.total,
        "fulfilment": stored.fulfilment,
        "fulfilment_name": names.get("fulfilment", {}).get(stored.fulfilment, stored.fulfilment),
        "address": stored.address,
        "payment": stored.payment,
        "payment_name": names.get("payment", {}).get(stored.payment, stored.payment),
        "time": stored.placed_at.astimezone(ZoneInfo(flows.hours.timezone)).strftime("%H:%M"),
    }


class AdminDesk:
    """Answers the admin's messages; the I/O it needs is passed in."""

    def __init__(
        self,
        flows: Flows,
        orders: OrderStore,
        overrides: OverridesStore,
        takeover: CustomerTakeover,
        notify_customer: NotifyCustomer,
        clock: Callable[[], datetime],
        log: logging.Logger,
        replies: StaffReplies | None = None,
    ) -> None:
        self.flows = flows
        self.orders = orders
        self.overrides = overrides
        self.takeover = takeover
        self.notify_customer = notify_customer
        self.clock = clock
        self.log = log
        self.replies = replies

    def say(self, key: str, **extras: Any) -> str:
        context = {"restaurant": self.flows.compiled.restaurant_view, **extras}
        return self.flows.compiled.templates.render(key, context)

    async def answer(self, text: str) -> tuple[str, ...]:
        command = parse_command(text)
        run = COMMANDS.get(command.name)
        if run is None:
            return (self.say("admin_unknown", text=text.strip()[:80]),)
        return (await run(self, command.argument),)

    # ------------------------------------------------------------ orders

    async def list_orders(self, _: str) -> str:
        now = self.clock()
        orders = await self.orders.open_orders(now.date(), now.tzinfo)  # type: ignore[arg-type]
        return self.say("admin_orders", orders=[order_view(self.flows, o) for o in orders])

    async def show_order(self, argument: str) -> str:
        number = order_number(argument)
        stored = await self.orders.get(number) if number else None
        if stored is None:
            return self.say("admin_order_not_found", number=argument or "?")
        return self.say("admin_order", order=order_view(self.flows, stored))

    async def change_status(self, status: str, argument: str) -> str:
        number = order_number(argument)
        stored = await self.set_status(number, status) if number else None
        if stored is None:
            return self.say("admin_order_not_found", number=argument or "?")
        return self.say("admin_status_changed", order=order_view(self.flows, stored))

    async def set_status(self, number: int, status: str) -> StoredOrder | None:
        """Change an order's status and tell its customer (WhatsApp command and web API alike)."""
        stored = await self.orders.set_status(number, status)
        if stored is not None:
            text = self.say("order_status", order=order_view(self.flows, stored))
            # Named after this change: "listo" again after "preparando" is news again.
            event = f"status:{stored.number}:{status}:{stored.updated_at.timestamp():.6f}"
            await self.notify_customer(event, stored.customer, text)
            self.log.info("📦 Pedido #%s: %s", stored.number, status)
        return stored

    # ------------------------------------------------------------ hours and menu

    async def force_hours(self, open_: bool) -> str:
        now = self.clock()
        overrides = (await self.overrides.load()).force(open_, self.flows.hours, now)
        await self.overrides.save(overrides)
        until = datetime.fromtimestamp(overrides.until, now.tzinfo)
        self.log.info("🕐 Horario forzado: %s hasta %s", "abierto" if open_ else "cerrado", until.isoformat())
        return self.say("admin_hours", open=open_, until=until.strftime("%d/%m %H:%M"))

    async def mark_item(self, available: bool, argument: str) -> str:
        item_id = self.find_item(argument)
        if item_id is None:
            names = {normalise(i.name): i.name for i in self.flows.menu.items.values()}
            return self.say("admin_item_unknown", text=argument, suggestions=closest(argument, names))
        overrides = (await self.overrides.load()).mark(item_id, available)
        await self.overrides.save(overrides)
        item = self.flows.menu.items[item_id]
        self.log.info("🍽️ %s: %s", item.id, "disponible" if available else "agotado")
        return self.say("admin_item_marked", item={"id": item.id, "name": item.name}, available=available)

    def find_item(self, text: str) -> str | None:
        menu = self.flows.menu
        if text.strip() in menu.items:
            return text.strip()
        matches = best_matches(normalise(text).split(), self.flows.compiled.item_phrases)
        return matches[0].key if matches else None

    # ------------------------------------------------------------ people

    async def hand_over(self, take: bool, argument: str) -> str:
        number = parse_phone(argument, self.flows.restaurant.country)
        if number is None:
            return self.say("admin_bad_number", text=argument)
        if take:
            until = self.clock().timestamp() + self.flows.restaurant.handover_minutes * 60
            await self.takeover.take(number, datetime.fromtimestamp(until, self.clock().tzinfo))
        else:
            await self.takeover.release(number)
        return self.say("admin_takeover", customer=number, taken=take, minutes=self.flows.restaurant.handover_minutes)

    async def reply_to_customer(self, argument: str) -> str:
        """``#responder 5678 texto``: the text goes to the held customer whose number ends in 5678."""
        who, _, text = argument.partition(" ")
        held = await self.replies.held() if self.replies is not None else []
        customer = reply_target(who, held)
        if customer is None or not text.strip() or self.replies is None:
            return self.say("admin_reply", customer=who or "?", sent=False)
        await self.replies.reply(customer, text.strip())
        self.log.info("💬 El encargado le contestó a un cliente por WhatsApp")
        return self.say("admin_reply", customer=customer, sent=True)

    async def help(self, _: str) -> str:
        return self.say("admin_help")


def reply_target(who: str, held: list[str]) -> str | None:
    """The one held customer whose number ends in the digits of ``who`` (at least 4), else None."""
    digits = "".join(ch for ch in who if ch.isdigit())
    if len(digits) < 4:
        return None
    matches = [customer for customer in held if "".join(ch for ch in customer if ch.isdigit()).endswith(digits)]
    return matches[0] if len(matches) == 1 else None


def order_number(text: str) -> int | None:
    digits = text.strip().lstrip("#")
    return int(digits) if digits.isdigit() and len(digits) < 10 else None


COMMANDS: dict[str, Callable[[AdminDesk, str], Awaitable[str]]] = {
    "pedidos": AdminDesk.list_orders,
    "pedido": AdminDesk.show_order,
    **{name: (lambda status: lambda desk, arg: desk.change_status(status, arg))(status) for name, status in STATUS_COMMANDS.items()},
    "cerrar": lambda desk, _: desk.force_hours(False),
    "abrir": lambda desk, _: desk.force_hours(True),
    "agotado": lambda desk, arg: desk.mark_item(False, arg),
    "disponible": lambda desk, arg: desk.mark_item(True, arg),
    "tomar": lambda desk, arg: desk.hand_over(True, arg),
    "soltar": lambda desk, arg: desk.hand_over(False, arg),
    "responder": AdminDesk.reply_to_customer,
    "ayuda": AdminDesk.help,
}
"""Every admin command by name (without ``#``)."""

assert set(STATUS_COMMANDS.values()) <= set(STATUSES)


class StoredOverrides:
    """The admin's overrides in the shared store, so every instance sees them at once."""

    KEY = OVERRIDES_KEY  # the service reads it with each message, in the same round trip
    KEEP_SECONDS = 400 * 24 * 3600

    def __init__(self, store: Any) -> None:
        self._store = store

    async def load(self) -> Overrides:
        return Overrides.from_json(await self._store.get(self.KEY))

    async def save(self, overrides: Overrides) -> None:
        await self._store.set(self.KEY, overrides.to_json(), self.KEEP_SECONDS)


class SessionTakeover:
    """``#tomar`` / ``#soltar``: the customer's session says until when the bot stays quiet."""

    def __init__(self, sessions: Any, locks: Any, flows_hash: str) -> None:
        self._sessions = sessions
        self._locks = locks
        self._flows_hash = flows_hash

    async def take(self, customer: str, until: datetime) -> None:
        await self._set(customer, int(until.timestamp()))

    async def release(self, customer: str) -> None:
        await self._set(customer, 0)

    async def _set(self, customer: str, quiet_until: int) -> None:
        async with self._locks.hold(customer):
            session = await self._sessions.load(customer) or Session(flows_hash=self._flows_hash)
            await self._sessions.save(customer, session.evolve(quiet_until=quiet_until))
