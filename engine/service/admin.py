"""The admin's WhatsApp: messages from ``ADMIN_PHONE_NUMBER`` are commands, never orders.

The commands (``languages.ADMIN_COMMANDS``): list today's open orders, show one, set its status
(preparing, ready, delivered, cancel), close or open the kitchen, mark an item sold out or
available, take a customer over or give them back, answer a held customer (``#responder 5678 texto``), help. The words typed after ``#`` are the
restaurant's language's (in Spanish ``#pedidos``, ``#listo 1042``, ``#agotado flan``...), and
every reply is a message of the flows (``admin_*``), like everything the bot says.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Awaitable, Callable, Mapping, Protocol
from zoneinfo import ZoneInfo

from engine.languages.language import ADMIN_COMMANDS
from engine.model.order import STATUSES, StoredOrder, order_view
from engine.orders.store import OrderStore
from engine.runtime.flows import Flows
from engine.runtime.phones import parse_phone
from engine.runtime.understand import best_matches, closest, normalise
from engine.service.admin_overrides import OverridesStore
from engine.service.takeover import CustomerTakeover

STATUS_COMMANDS = {"preparing": "preparando", "ready": "listo", "delivered": "entregado", "cancel": "cancelado"}
"""Command -> the status it sets (as stored)."""


@dataclass(frozen=True, slots=True)
class AdminCommand:
    name: str
    """The word typed after ``#``, lower case, no accents; "" when the message is not a command at all."""
    argument: str


def parse_command(text: str) -> AdminCommand:
    stripped = text.strip()
    if not stripped.startswith("#"):
        return AdminCommand("", stripped)
    name, _, argument = stripped[1:].partition(" ")
    return AdminCommand(normalise(name), argument.strip())


def command_of(command: AdminCommand, words: Mapping[str, str]) -> str | None:
    """Which of ``ADMIN_COMMANDS`` the admin typed (``words``: the restaurant's, word -> command)."""
    return words.get(command.name) if command.name else None


class StaffReplies(Protocol):
    """The conversations a person holds (``engine.panel.conversations.HeldConversations``)."""

    async def held(self) -> list[str]:
        """Customers a person handles now."""
        ...

    async def reply(self, customer: str, text: str) -> None:
        """Send ``text`` to ``customer`` through the bot's number, and keep it with the conversation."""
        ...


NotifyCustomer = Callable[[str, str, str], Awaitable[object]]
"""(event id, customer number, text): queue a WhatsApp message for a customer."""


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
        self.zone = ZoneInfo(flows.hours.timezone)

    def view(self, stored: StoredOrder) -> dict[str, Any]:
        """``stored`` as the admin's messages, the API and the web panel show it."""
        return order_view(stored, self.flows.compiled.answer_names, self.zone)

    def say(self, key: str, **extras: Any) -> str:
        context = {"restaurant": self.flows.compiled.restaurant_view, **extras}
        return self.flows.compiled.templates.render(key, context)

    async def answer(self, text: str) -> tuple[str, ...]:
        command = parse_command(text)
        run = COMMANDS.get(command_of(command, self.flows.restaurant.words.admin) or "")
        if run is None:
            return (self.say("admin_unknown", text=text.strip()[:80]),)
        return (await run(self, command.argument),)

    # ------------------------------------------------------------ orders

    async def list_orders(self, _: str) -> str:
        today = self.clock().astimezone(self.zone).date()
        orders = await self.orders.open_orders(today, self.zone)
        return self.say("admin_orders", orders=[self.view(o) for o in orders])

    async def show_order(self, argument: str) -> str:
        number = order_number(argument)
        stored = await self.orders.get(number) if number else None
        if stored is None:
            return self.say("admin_order_not_found", number=argument or "?")
        return self.say("admin_order", order=self.view(stored))

    async def change_status(self, status: str, argument: str) -> str:
        number = order_number(argument)
        stored = await self.set_status(number, status) if number else None
        if stored is None:
            return self.say("admin_order_not_found", number=argument or "?")
        return self.say("admin_status_changed", order=self.view(stored))

    async def set_status(self, number: int, status: str) -> StoredOrder | None:
        """Change an order's status and tell its customer (WhatsApp command and web API alike)."""
        stored = await self.orders.set_status(number, status)
        if stored is not None:
            text = self.say("order_status", order=self.view(stored))
            # Named after this change: "listo" again after "preparando" is news again.
            event = f"status:{stored.number}:{status}:{stored.updated_at.timestamp():.6f}"
            await self.notify_customer(event, stored.order.customer, text)
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
    "orders": AdminDesk.list_orders,
    "order": AdminDesk.show_order,
    **{name: (lambda status: lambda desk, arg: desk.change_status(status, arg))(status) for name, status in STATUS_COMMANDS.items()},
    "close": lambda desk, _: desk.force_hours(False),
    "open": lambda desk, _: desk.force_hours(True),
    "sold_out": lambda desk, arg: desk.mark_item(False, arg),
    "available": lambda desk, arg: desk.mark_item(True, arg),
    "take": lambda desk, arg: desk.hand_over(True, arg),
    "release": lambda desk, arg: desk.hand_over(False, arg),
    "reply": AdminDesk.reply_to_customer,
    "help": AdminDesk.help,
}
"""Every admin command (one of ``ADMIN_COMMANDS``) and what it runs."""

assert set(STATUS_COMMANDS.values()) <= set(STATUSES)
assert set(COMMANDS) == set(ADMIN_COMMANDS)
