"""Nothing lost, nothing twice: real server processes SIGKILLed mid-message, real Redis, retries.

Server processes (two; three for the random kills) share a private ``redis-server`` behind
``RedisProxy``, which slows its replies so a kill lands mid-message, or holds one exact command
so a test can kill a process at that step, and one SQLite orders file, which holds the orders
and the outbox (an order and its admin notice are written in one transaction; a send is
recorded there too). Notices go through the real twilio client to the loopback fake, which can
hold its answer to one request so a test can kill the sender while Twilio has the message and
the sender does not know it. Each start of a server has a Twilio account SID of its own, so the
fake tells which process sent what. Every webhook that gets no answer (its server died) is
delivered again with the same ``MessageSid``, as Twilio does, until it is answered.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

import httpx
import pytest
from servicekit import (  # noqa: F401  (redis_proxy and redis_server are fixtures)
    PUBLIC_URL,
    TOKEN,
    RedisProxy,
    RedisServer,
    Server,
    form,
    move_clock,
    post,
    redis_proxy,
    redis_server,
    replies,
    set_clock,
    wait_for,
)
from twilio_fake import TwilioFake, created, status

from engine.runtime.phones import whatsapp_id

FRIDAY_LUNCH = datetime(2026, 11, 27, 14, 0, tzinfo=ZoneInfo("America/Mexico_City"))
ADMIN = "whatsapp:+5215587654321"
PREFIX = "crash:"
ORDER = [  # what each message of a whole order is answered; a lost or doubled message shows here
    ("hola", "Bienvenido"),
    ("3 pastor", "Tortilla"),
    ("harina", "preparamos"),
    ("sin cebolla", "Agregué 3 × Taco al pastor (harina, sin cebolla): $75.\nLlevas $75."),
    ("listo", "Cómo lo quieres"),
    ("1", "A nombre de quién"),
    ("Ana", "A qué número"),
    ("este", "Cómo vas a pagar"),
    ("efectivo", "*Total: $75*"),
    ("sí", "Tu pedido es el *#"),
]
NOTICE = re.compile(r"Pedido nuevo \*#(\d+)\*")
SERVERS = ("a", "b", "c")
"""Three instances: while one starts again after a kill, two answer, and one more may be killed."""
AT_ONCE = 5
"""Customers ordering at the same time (30 in all): the run lasts long enough for ten or so kills."""
LEASES_PASSED = 200
"""Seconds the clock moves once the orders are in: longer than the courier's lease (180 s), so a
notice whose sender was killed mid-send is due again."""


def customer(n: int) -> str:
    return f"whatsapp:+52155{n:08d}"


def stored(sender: str) -> str:
    """How the orders store names a Mexican mobile (without WhatsApp's 1)."""
    return sender.replace("whatsapp:+521", "+52")


@dataclass
class Started:
    server: Server
    account: str
    killed_at: float | None = None
    """``time.monotonic()`` of its SIGKILL."""


@dataclass
class Fleet:
    """The server processes of one test: started, killed and started again at will."""

    directory: Path
    env: dict[str, str]
    starts: list[Started] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, name: str) -> Started:
        account = "AC" + uuid.uuid4().hex
        started = Started(Server(self.directory, {**self.env, "TWILIO_ACCOUNT_SID": account}, name).start(), account)
        with self._lock:
            self.starts.append(started)
        return started

    def start_all(self, *names: str) -> list[Started]:
        """Start a server per name, all at once."""
        with ThreadPoolExecutor(len(names)) as pool:
            return list(pool.map(self.start, names))

    def kill(self, started: Started) -> None:
        started.killed_at = time.monotonic()
        started.server.kill()

    def up(self) -> list[Started]:
        with self._lock:
            return [s for s in self.starts if s.killed_at is None and s.server.process is not None]

    def account_of(self, path: str) -> Started:
        """The start whose account sent a request to ``path`` (``/2010-04-01/Accounts/<sid>/...``)."""
        return next(s for s in self.starts if f"/Accounts/{s.account}/" in path)

    def logs(self) -> str:
        return "\n".join(s.server.log() for s in self.starts)

    def stop(self) -> None:
        for started in self.starts:
            started.server.kill()


@pytest.fixture
def twilio() -> Iterator[TwilioFake]:
    fake = TwilioFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    path = tmp_path / "clock-offset"
    set_clock(path, FRIDAY_LUNCH)
    return path


@pytest.fixture
def fleet(tmp_path: Path, redis_proxy: RedisProxy, twilio: TwilioFake, clock_file: Path) -> Iterator[Fleet]:  # noqa: F811
    env = {
        "REDIS_URL": redis_proxy.url,
        "REDIS_KEY_PREFIX": PREFIX,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_WHATSAPP_CLIENTES": "whatsapp:+14155238886",
        "TWILIO_API_BASE": twilio.url,
        "ADMIN_PHONE_NUMBER": ADMIN,
        "PUBLIC_URL": PUBLIC_URL,
        "TEST_CLOCK_FILE": str(clock_file),
        "RATE_LIMIT_PER_CUSTOMER": "100",
        "RATE_LIMIT_GLOBAL": "100000",
    }
    servers = Fleet(tmp_path, env)
    yield servers
    servers.stop()


def query(folder: Path, sql: str) -> list[Any]:
    """Rows of the orders file the servers share (read beside them: WAL lets a reader in)."""
    with closing(sqlite3.connect(folder / "data" / "orders.sqlite3")) as db:
        return db.execute(sql).fetchall()


def orders_in(folder: Path) -> list[tuple[int, str, int]]:
    return query(folder, "select number, customer, total from orders order by number")


@dataclass(frozen=True)
class Row:
    """One message of the outbox in the orders file."""

    id: str
    state: str
    """waiting, retrying (both still to send) or done (sent, or given up)."""
    sid: str | None
    """Twilio's SID of the send recorded (None until one is)."""
    body: str


def outbox_in(folder: Path) -> list[Row]:
    rows = query(folder, "select id, state, sid, payload from outbox order by id")
    return [Row(id, state, sid, json.loads(payload)["body"] if payload else "") for id, state, sid, payload in rows]


def left_to_send(folder: Path, redis_server: RedisServer) -> list[str]:  # noqa: F811
    """The ids of the messages still to send: those of the orders file's outbox not done, and any
    in its spare in Redis (where messages wait while the orders file cannot be written)."""
    spare = redis_server.client().hkeys(f"{PREFIX}outbox:jobs")
    return [row.id for row in outbox_in(folder) if row.state != "done"] + sorted(spare)


def outbox_empty(folder: Path, redis_server: RedisServer) -> bool:  # noqa: F811
    return not left_to_send(folder, redis_server)


def number_of(request) -> str:
    """The order number a notice announces."""
    return NOTICE.search(request.form["Body"]).group(1)


def recorded_sends(folder: Path) -> dict[str, str | None]:
    """The notices of the orders file's outbox, by the order number they announce: the SID of the
    send recorded for each."""
    return {match.group(1): row.sid for row in outbox_in(folder) if (match := NOTICE.search(row.body))}


def notices(twilio: TwilioFake) -> list:
    """The admin's new-order notices Twilio accepted, in the order they arrived."""
    return [r for r in twilio.sent() if r.form.get("To") == whatsapp_id(ADMIN) and NOTICE.search(r.form["Body"])]


def joined(texts: list[str]) -> str:
    return "\n".join(texts)


# --- SIGKILL at random moments of thirty whole orders ------------------------------------

@dataclass
class Tally:
    deliveries: int = 0
    retried: Counter[str] = field(default_factory=Counter)
    """Deliveries that got no answer (their server died) and were delivered again, by text."""
    in_flight: Counter[str] = field(default_factory=Counter)
    """Requests waiting for an answer, by server."""
    confirming: Counter[str] = field(default_factory=Counter)
    """Confirmations ("sí": the order is stored, its notice queued) waiting for an answer, by server."""
    lock: threading.Lock = field(default_factory=threading.Lock)


def deliver(fleet: Fleet, tally: Tally, http: httpx.Client, fields: dict[str, str], rng: random.Random) -> list[str]:
    """Deliver ``fields`` until a server answers it, the same ``MessageSid`` every time."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        up = fleet.up()
        if not up:
            time.sleep(0.05)  # both restarting: Twilio would try again later too
            continue
        target = rng.choice(up).server
        confirmation = int(fields["Body"] == ORDER[-1][0])
        with tally.lock:
            tally.deliveries += 1
            tally.in_flight[target.base] += 1
            tally.confirming[target.base] += confirmation
        try:
            response = post(http, target.base, fields)
        except httpx.TransportError:
            with tally.lock:
                tally.retried[fields["Body"]] += 1
            continue
        finally:
            with tally.lock:
                tally.in_flight[target.base] -= 1
                tally.confirming[target.base] -= confirmation
        return replies(response)
    raise AssertionError(f"{fields['Body']!r} of {fields['From']} was never answered")


def test_thirty_orders_under_random_kills_lose_and_double_nothing(fleet, twilio, redis_proxy, redis_server, clock_file, tmp_path):  # noqa: F811
    seed = random.randrange(1 << 30)
    print(f"\nseed {seed}")
    redis_proxy.delay = 0.04  # every Redis reply 40 ms late: a message spends most of its time waiting on Redis
    fleet.start_all(*SERVERS)
    tally = Tally()
    done = threading.Event()
    kills: list[int] = []  # for each kill, the requests its server had in flight
    restarts: list[threading.Thread] = []

    def killer() -> None:
        victim_rng = random.Random(seed + 1)
        while not done.wait(victim_rng.uniform(0.1, 0.6)):  # the moments of the kills, at random
            up = fleet.up()
            if len(up) < 2:
                continue  # one always answers
            with tally.lock:  # at a random moment; a server confirming an order first, if one is
                confirming = [s for s in up if tally.confirming[s.server.base]]
                victim = victim_rng.choice(confirming or up)
                kills.append(tally.in_flight[victim.server.base])
            fleet.kill(victim)
            restart = threading.Thread(target=fleet.start, args=(victim.server.log_path.name.split("-")[0],))
            restart.start()
            restarts.append(restart)

    def place_order(n: int) -> list[list[str]]:
        mine = random.Random(seed + 2 + n)
        answers = []
        with httpx.Client(timeout=30) as http:
            for text, _ in ORDER:
                answers.append(deliver(fleet, tally, http, form(text, sender=customer(n)), mine))
        return answers

    started = time.monotonic()
    kill_thread = threading.Thread(target=killer, daemon=True)
    kill_thread.start()
    with ThreadPoolExecutor(AT_ONCE) as pool:
        conversations = list(pool.map(place_order, range(30)))
    done.set()
    kill_thread.join(30)
    for restart in restarts:
        restart.join(30)
    took = time.monotonic() - started

    for n, answers in enumerate(conversations):  # 0 messages lost: every answer is the one expected next
        for (text, expected), answer in zip(ORDER, answers):
            assert expected in joined(answer), (n, text, answer)
    numbers = {customer(n): int(re.search(r"#(\d+)", joined(answers[-1])).group(1)) for n, answers in enumerate(conversations)}
    orders = orders_in(tmp_path)
    assert len(orders) == 30  # 0 orders lost or doubled
    assert {(number, stored(sender), 75) for sender, number in numbers.items()} == set(orders)

    queued = [row for row in outbox_in(tmp_path) if NOTICE.search(row.body)]
    assert len(queued) == 30  # one notice queued per order, whatever was killed and retried

    move_clock(clock_file, LEASES_PASSED)
    wait_for(lambda: outbox_empty(tmp_path, redis_server) and len({number_of(r) for r in notices(twilio)}) == 30,
             timeout=30, what="every notice sent")
    sent = notices(twilio)
    copies = Counter(number_of(r) for r in sent)
    assert set(copies) == {str(number) for number, _, _ in orders}  # 0 notices lost
    recorded = recorded_sends(tmp_path)
    doubled = [number for number, count in copies.items() if count > 1]
    causes = []
    for number in copies:
        *lost_answers, last = [r for r in sent if number_of(r) == number]
        assert recorded[number] == last.sid, number  # the send recorded is the last: none follows it
        for copy in lost_answers:  # each earlier copy: Twilio took it, then its sender died before recording it
            sender = fleet.account_of(copy.path)
            assert sender.killed_at is not None and copy.at < sender.killed_at, number
            assert fleet.account_of(last.path) is not sender, number
            causes.append(f"#{number}: {sender.server.log_path.stem} killed {1000 * (sender.killed_at - copy.at):.0f} ms "
                          "after Twilio took it")
    assert "❗" not in fleet.logs()
    print(f"30 orders, {len(ORDER) * 30} messages, {tally.deliveries} deliveries ({sum(tally.retried.values())} "
          f"unanswered and delivered again, {tally.retried['sí']} of them confirmations), {len(kills)} kills ({sum(1 for k in kills if k)} with messages in flight) in {took:.0f} s: "
          f"0 messages lost, 0 orders lost or doubled, 0 notices lost, {len(doubled)} notices sent twice "
          f"(killed between Twilio accepting them and the outbox recording it){': ' if causes else ''}{'; '.join(causes)}")
    assert sum(1 for k in kills if k) >= 3, "too few kills landed mid-message to prove anything"


# --- one kill at an exact step -----------------------------------------------------------

def place_all_but_the_confirmation(server: Server, sender: str, name: str = "Ana") -> None:
    with httpx.Client(timeout=30) as http:
        for text, expected in ORDER[:-1]:
            text = name if text == "Ana" else text
            assert expected in joined(replies(post(http, server.base, form(text, sender=sender))))


def test_kills_after_orders_are_saved_leave_one_order_and_one_notice_each(fleet, twilio, redis_proxy, redis_server, clock_file, tmp_path):  # noqa: F811
    a, b = fleet.start_all("a", "b")
    place_all_but_the_confirmation(a.server, customer(1), "Carmen")
    place_all_but_the_confirmation(a.server, customer(2), "Beto")
    twilio.default = status(500)  # while a lives, Twilio takes no notice: none can be sent twice
    # Each order is stored with its notice (one transaction); the session and the message's mark,
    # committed together after that, are not.
    commits = [redis_proxy.trap(lambda request, n=n: f"said:SMconfirm{n}".encode() in request and b'"take"' not in request)
               for n in (1, 2)]
    # Both messages take their turn before either goes on: a's calls to Redis go one after the
    # other on one connection, so a commit held first would hold up the other message's turn. (a
    # waits COMMAND_TIMEOUT, 0.5 s, for the commits before it answers from memory: it is killed
    # before that, ≈ 0.2–0.3 s after the first commit is held on a loaded machine.)
    redis_proxy.gate(lambda chunk: b'"take"' in chunk and b"said:SMconfirm" in chunk,
                     lambda held: all(f"said:SMconfirm{n}".encode() in held for n in (1, 2)))
    # And Beto's notice is on its way: Twilio has the request (and refuses it), a has no answer yet.
    on_its_way = twilio.hold_next(lambda fields: fields.get("To") == whatsapp_id(ADMIN) and "Beto" in fields.get("Body", ""))
    confirmations = [form("sí", sender=customer(n), sid=f"SMconfirm{n}" + "0" * 22) for n in (1, 2)]

    def send(server: Server, fields: dict[str, str]) -> Callable[[], list[str]]:
        def call() -> list[str]:
            with httpx.Client(timeout=30) as http:
                return replies(post(http, server.base, fields))
        return call

    with ThreadPoolExecutor(2) as pool:
        first = [pool.submit(send(a.server, fields)) for fields in confirmations]
        for trap in commits:
            assert trap.seen.wait(10), "a message never reached its commit"
        assert on_its_way.seen.wait(10), "Beto's notice never reached Twilio"
        assert len(orders_in(tmp_path)) == 2  # both saved before the kill
        assert len(left_to_send(tmp_path, redis_server)) == 2  # with their notices, neither sent
        fleet.kill(a)
        on_its_way.release()
        for future in first:
            with pytest.raises(httpx.TransportError):
                future.result(10)  # never answered
        for trap in commits:
            trap.close()
        twilio.default = created()
        retried = list(pool.map(lambda fields: send(b.server, fields)(), confirmations))  # Twilio's retries
    assert fleet.account_of(on_its_way.request.path) is a and on_its_way.request.answered == 500
    numbers = {customer: number for number, customer, _ in orders_in(tmp_path)}
    assert sorted(numbers.values()) == [1001, 1002]
    for n, answer in zip((1, 2), retried):
        assert f"Tu pedido es el *#{numbers[stored(customer(n))]}*" in joined(answer)
        assert send(b.server, confirmations[n - 1])() == answer  # and a repeat of it
    # a's claim on Beto's notice holds until its lease ends: b cannot send it while a might be.
    assert [row.state for row in outbox_in(tmp_path) if "Beto" in row.body] == ["waiting"]
    move_clock(clock_file, LEASES_PASSED)  # Beto's notice, claimed by a, is b's to send now
    wait_for(lambda: outbox_empty(tmp_path, redis_server) and len(notices(twilio)) >= 2, what="the notices sent")
    assert len(orders_in(tmp_path)) == 2
    assert sorted(number_of(r) for r in notices(twilio)) == ["1001", "1002"]
    assert all(fleet.account_of(r.path) is b for r in notices(twilio))
    assert recorded_sends(tmp_path) == {number_of(r): r.sid for r in notices(twilio)}


def test_a_kill_between_twilio_accepting_a_notice_and_the_outbox_recording_it_sends_it_twice(fleet, twilio, redis_server, clock_file, tmp_path):  # noqa: F811
    """The one duplicate there can be: Twilio takes no idempotency key, so a notice whose sender
    died before recording the send goes again (at least once, never lost)."""
    a, b = fleet.start_all("a", "b")
    taken = twilio.hold_next(lambda fields: NOTICE.search(fields.get("Body", "")) is not None)
    place_all_but_the_confirmation(a.server, customer(2))
    with httpx.Client(timeout=30) as http:
        assert "Tu pedido es el *#1001*" in joined(replies(post(http, a.server.base, form("sí", sender=customer(2)))))
    assert taken.seen.wait(10), "the notice never reached Twilio"
    assert taken.request.answered == 201  # Twilio took it; a has not heard so
    assert len(left_to_send(tmp_path, redis_server)) == 1  # nor recorded it
    fleet.kill(a)
    taken.release()
    move_clock(clock_file, LEASES_PASSED)
    wait_for(lambda: outbox_empty(tmp_path, redis_server) and len(notices(twilio)) == 2, what="the notice sent again")
    first, again = notices(twilio)
    assert first == taken.request
    assert fleet.account_of(first.path) is a and fleet.account_of(again.path) is b
    assert first.form["Body"] == again.form["Body"]
    assert recorded_sends(tmp_path) == {"1001": again.sid}
    assert orders_in(tmp_path) == [(1001, "+525500000002", 75)]


# --- many deliveries of every webhook ----------------------------------------------------

def test_every_webhook_of_an_order_delivered_three_times_in_a_minute_completes_it_once(fleet, twilio, redis_server, clock_file, tmp_path):  # noqa: F811
    a, b = fleet.start_all("a", "b")

    def deliver_to(started: Started, fields: dict[str, str]) -> Callable[[], list[str]]:
        def call() -> list[str]:
            with httpx.Client(timeout=30) as http:
                return replies(post(http, started.server.base, fields))
        return call

    with ThreadPoolExecutor(2) as pool:
        for text, expected in ORDER:
            fields = form(text, sender=customer(3))
            at_once = [pool.submit(deliver_to(server, fields)) for server in (a, b)]  # two at once
            first, second = (future.result(30) for future in at_once)
            move_clock(clock_file, 50)  # and again within the minute
            third = deliver_to(a, fields)()
            assert expected in joined(first) and first == second == third, (text, first, second, third)
    assert orders_in(tmp_path) == [(1001, "+525500000003", 75)]
    # Every notice is queued before its message is answered: once the outbox is empty, none is left.
    wait_for(lambda: outbox_empty(tmp_path, redis_server) and notices(twilio), what="the notice sent")
    assert [number_of(r) for r in notices(twilio)] == ["1001"]
    assert recorded_sends(tmp_path) == {"1001": notices(twilio)[0].sid}
