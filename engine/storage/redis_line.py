"""One connection to Redis that every caller shares, commands pipelined on it: the store's line.

Each webhook message makes two calls of ``RedisStore.run`` (one ``EVALSHA`` when the customer's
turn is taken, one when it is let go). Through redis-py's asyncio client each cost about 200 µs
of CPU at 32 callers at once (its pool, its retry, its parser, a connection per caller); here
a command is encoded to bytes once, the commands of one turn of the event loop are written
together (one system call), and each call's future waits in a first-in first-out queue: Redis
answers a connection's commands in the order it got them, so the replies are matched in order.
They are parsed in plain Python (what ``EVALSHA``, ``SCRIPT LOAD``, ``PING``, ``PTTL``, ``AUTH``
and ``SELECT`` return: RESP2). See docs/performance.md, "A Redis line of our own". Only for
commands that do not block: a ``BLPOP`` would hold up every caller behind it.

What a service that falls back to memory needs of its client, kept from the redis-py setup
before it (``engine.storage.redis_store.connect``):

- a dead or stopped Redis costs milliseconds: a refused connection fails at once, one that does
  not open in ``CONNECT_TIMEOUT`` fails then, a command not answered in ``COMMAND_TIMEOUT``
  fails then;
- on a timeout or a lost connection every call waiting on it fails (``LineDown``,
  ``LineTimeout``: redis-py's ``ConnectionError`` and ``TimeoutError``, so whatever treats those
  as "Redis is down" treats these so), the connection is dropped, and the next call opens
  another;
- a command is sent again only when it is certain it never reached Redis: the connection was
  found closed before the command was written (Redis restarted while the line was idle: the
  socket's end of file was waiting, unread), or the write itself failed at once. Never after
  it may have run: a lost connection with commands in flight fails them.
- ``redis://`` and ``rediss://`` (TLS, the certificate checked, ``?ssl_cert_reqs=none`` not),
  ``user:password@`` (``AUTH``) and ``/db`` (``SELECT``), as Render's Key Value gives them.

An error reply (``-ERR …``, ``-NOSCRIPT …``) is raised as ``ReplyError`` (redis-py's
``ResponseError``) to its own caller; the connection and the other callers are not affected.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import deque
from itertools import repeat
from dataclasses import dataclass
from typing import Union, cast
from urllib.parse import parse_qs, unquote, urlparse

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

CONNECT_TIMEOUT = 0.25
"""Seconds to open a connection, TLS included (same region: well under a millisecond when all
is well)."""
COMMAND_TIMEOUT = 0.5
"""Seconds for a command's reply to come, from when it is written (the oldest call waiting is
the first to run out of time: when it does, every call on the connection fails with it)."""
GRACE = 0.02
"""Seconds more for a reply already come but not read yet (``_Link._check``)."""

Reply = Union[str, int, None, "ReplyError", list["Reply"]]
"""What Redis answers: a bulk or simple string (text), an integer, nil, an error (inside an
array; a top-level one is raised), an array."""
Arg = Union[str, bytes, int]
"""A command's word or argument: text is sent as UTF-8, an integer in decimal."""


class LineDown(RedisConnectionError):
    """Redis could not be reached, or the connection was lost with this call's reply to come."""


class LineTimeout(RedisTimeoutError):
    """No connection in ``CONNECT_TIMEOUT``, or no reply in ``COMMAND_TIMEOUT``."""


class ReplyError(ResponseError):
    """Redis answered with an error (its text: ``NOSCRIPT No matching script…``)."""


class NotSent(LineDown):
    """The connection was lost before this call's command was written: it can go on another."""


class ProtocolBroken(RedisConnectionError):
    """Redis's reply could not be read (never from a Redis server): the connection is dropped."""


@dataclass(frozen=True, slots=True)
class Address:
    """Where Redis is and how to log in, from a ``REDIS_URL``."""

    host: str = "127.0.0.1"
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False
    verify: bool = True
    """With TLS: check the certificate and the host name (``?ssl_cert_reqs=none``: neither)."""
    ca_certs: str | None = None
    """With TLS: the certificates to trust (``?ssl_ca_certs=path``), else the system's."""

    @classmethod
    def from_url(cls, url: str) -> Address:
        """``redis://[[user]:password@]host[:port][/db]``, or ``rediss://`` for TLS (with, as
        redis-py reads them, ``?ssl_cert_reqs=none`` or ``?ssl_ca_certs=path``)."""
        parsed = urlparse(url)
        if parsed.scheme not in ("redis", "rediss"):
            raise ValueError("Redis URL must start with redis:// or rediss://")
        query = {name: values[0] for name, values in parse_qs(parsed.query).items() if values}
        db = query.get("db") or unquote(parsed.path).strip("/") or "0"
        reqs = query.get("ssl_cert_reqs", "required").lower()
        if reqs not in ("none", "optional", "required"):
            raise ValueError(f"Invalid value for 'ssl_cert_reqs' in the Redis URL: {reqs!r}")
        return cls(
            host=unquote(parsed.hostname) if parsed.hostname else "127.0.0.1",
            port=parsed.port or 6379,
            db=int(db),
            username=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            tls=parsed.scheme == "rediss",
            verify=reqs != "none",
            ca_certs=query.get("ssl_ca_certs"),
        )

    def tls_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.ca_certs)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def greeting(self) -> list[tuple[str, bytes]]:
        """The commands a new connection sends before any other (``AUTH``, ``SELECT``), named."""
        commands: list[tuple[str, bytes]] = []
        if self.password is not None:
            auth: tuple[Arg, ...] = ("AUTH", self.username, self.password) if self.username else ("AUTH", self.password)
            commands.append(("AUTH", encode(auth)))
        if self.db:
            commands.append(("SELECT", encode(("SELECT", self.db))))
        return commands


def encode(args: tuple[Arg, ...]) -> bytes:
    """A command as Redis reads it (an array of bulk strings), in one piece."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg if isinstance(arg, bytes) else b"%d" % arg
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class Incomplete(Exception):
    """The reply is not all there yet: ``need`` bytes or more (counted from the start of the
    data ``parse`` was given), so nothing is parsed again before they are in."""

    def __init__(self, need: int) -> None:
        self.need = need


def parse(data: bytes, at: int) -> tuple[Reply, int]:
    """The reply that starts at ``at`` and where the next one starts; ``Incomplete`` when it is
    not all in ``data`` yet, ``ProtocolBroken`` (or ``ValueError``) when it is no reply."""
    end = data.find(b"\r\n", at)
    if end < 0:
        raise Incomplete(len(data) + 1)
    kind = data[at]
    if kind == 36:  # $: bulk string
        length = int(data[at + 1:end])
        if length < 0:
            return None, end + 2
        start = end + 2
        stop = start + length
        if len(data) < stop + 2:
            raise Incomplete(stop + 2)
        return data[start:stop].decode(), stop + 2
    if kind == 43:  # +: simple string
        return data[at + 1:end].decode(), end + 2
    if kind == 58:  # :: integer
        return int(data[at + 1:end]), end + 2
    if kind == 45:  # -: error
        return ReplyError(data[at + 1:end].decode(errors="replace")), end + 2
    if kind == 42:  # *: array
        count = int(data[at + 1:end])
        if count < 0:
            return None, end + 2
        items: list[Reply] = []
        at = end + 2
        for _ in range(count):
            item, at = parse(data, at)
            items.append(item)
        return items, at
    raise ProtocolBroken(f"not a Redis reply: {data[at:at + 40]!r}")


class _Link(asyncio.Protocol):
    """One open connection: the calls waiting on it, oldest first, and what came of their replies."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, timeout: float) -> None:
        self._loop = loop
        self._sock = sock
        """The socket itself, to look for an end of file not read yet (``fresh``)."""
        self._timeout = timeout
        self._transport: asyncio.Transport | None = None
        self._waiting: deque[asyncio.Future[Reply]] = deque()
        """The calls sent, oldest first."""
        self._deadlines: deque[float] = deque()
        """For each call written (the first of ``_waiting``), the time by which it must be answered."""
        self._timer: asyncio.TimerHandle | None = None
        self._late: asyncio.Future[Reply] | None = None
        """The oldest call when it was found out of time, given ``GRACE`` (see ``_check``)."""
        self._out: list[bytes] = []
        """Commands not written yet (the last of ``_waiting``): written together by ``_flush``."""
        self._rest: list[bytes] = []
        """The start of a reply not all received yet."""
        self._have = 0
        self._need = 0
        self.open = False
        """False once lost, timed out or closed: the line then opens another."""
        self.lost: asyncio.Future[None] = loop.create_future()
        """Done when the connection has closed (``close`` waits for it)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is none of asyncio's classes
        self.open = True

    def send(self, command: bytes) -> asyncio.Future[Reply] | None:
        """Queue ``command`` to be written with the others sent in this turn of the event loop
        (one system call for them all); its reply's future, or None when the connection is found
        closed (then it may go on another)."""
        if not self.open:
            return None
        if not self._waiting and not self._fresh():
            self.drop(LineDown("Redis closed the connection"))
            return None
        out = self._out
        if not out:
            self._loop.call_soon(self._flush)
        out.append(command)
        future: asyncio.Future[Reply] = self._loop.create_future()
        self._waiting.append(future)
        return future

    def _flush(self) -> None:
        """Write the commands queued; if the write fails at once, none of them left (``NotSent``)."""
        out, transport = self._out, self._transport
        if not out or not self.open or transport is None:
            return
        buffered = transport.get_write_buffer_size()
        try:
            transport.write(out[0] if len(out) == 1 else b"".join(out))
        except (RuntimeError, OSError) as error:  # uvloop's closed transport refuses it: nothing written
            self.drop(LineDown(f"the connection to Redis failed ({error})"))
            return
        if transport.is_closing() and not buffered:  # it failed at once: nothing written either
            self.drop(LineDown("the connection to Redis failed"))
            return
        self._out = []
        deadline = self._loop.time() + self._timeout  # from the write: a wait before it is not Redis's
        self._deadlines.extend(repeat(deadline, len(out)))
        if self._timer is None:
            self._timer = self._loop.call_at(deadline, self._check)

    def _fresh(self) -> bool:
        """False when Redis has closed this idle connection and the event loop has not read the
        end of file yet (a restart between two calls): nothing sent on it could reach Redis."""
        try:
            return self._sock.recv(1, socket.MSG_PEEK) != b""
        except (BlockingIOError, InterruptedError):
            return True  # nothing to read: open as far as can be known
        except OSError:
            return False

    def data_received(self, data: bytes) -> None:
        if self._rest:
            self._rest.append(data)
            self._have += len(data)
            if self._have < self._need:
                return
            data = b"".join(self._rest)
            self._rest = []
        at, size, waiting, deadlines = 0, len(data), self._waiting, self._deadlines
        try:
            while at < size:
                reply, at = parse(data, at)
                if not deadlines:
                    raise ProtocolBroken("a reply that no command asked for")
                deadlines.popleft()
                future = waiting.popleft()
                if not future.done():  # its caller gave up (cancelled): nobody to tell
                    future.set_result(reply)
        except Incomplete as short:
            self._rest = [data[at:]]
            self._have = size - at
            self._need = short.need - at
        except (ProtocolBroken, ValueError, UnicodeDecodeError) as error:
            broken = error if isinstance(error, ProtocolBroken) else ProtocolBroken(str(error))
            self.drop(broken)

    def _check(self) -> None:
        """When the oldest call's time is up, every call on this connection fails and it is
        dropped; else look again when it will be.

        Out of time is looked at twice, ``GRACE`` apart: uvloop runs its timers before it reads
        the sockets, so after the event loop was held up (a long piece of work in it) this runs
        before the replies that came meanwhile are read."""
        self._timer = None
        if not self._deadlines or not self.open:
            return
        deadline = self._deadlines[0]
        if deadline > self._loop.time():
            self._timer = self._loop.call_at(deadline, self._check)
            return
        oldest = self._waiting[0]
        if self._late is not oldest:
            self._late = oldest
            self._timer = self._loop.call_later(GRACE, self._check)
            return
        self.drop(LineTimeout(f"Redis did not answer in {self._timeout} s"))

    def drop(self, error: Exception) -> None:
        """Fail every call waiting with ``error`` and close the connection at once."""
        self.open = False
        self._fail(error)
        if self._transport is not None:
            self._transport.abort()

    def _fail(self, error: Exception) -> None:
        """Every call waiting fails: with ``error`` those written, with ``NotSent`` the others."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiting, self._waiting = self._waiting, deque()
        written = len(waiting) - len(self._out)
        self._out = []
        self._deadlines.clear()
        self._late = None
        for n, future in enumerate(waiting):
            if not future.done():
                future.set_exception(type(error)(*error.args) if n < written else NotSent(*error.args))

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._fail(LineDown(f"lost the connection to Redis ({exc or 'closed by Redis'})"))
        if not self.lost.done():
            self.lost.set_result(None)

    def eof_received(self) -> bool | None:
        return False  # Redis closed its side: close ours (connection_lost follows)

    async def close(self) -> None:
        """Close now; calls still waiting fail with ``LineDown``."""
        self.drop(LineDown("the connection to Redis was closed"))
        await self.lost


class RedisLine:
    """Commands to one Redis over one shared connection, opened by the first call and again by
    the first call after it is lost (see the module's docstring)."""

    def __init__(
        self, address: Address, connect_timeout: float = CONNECT_TIMEOUT, command_timeout: float = COMMAND_TIMEOUT
    ) -> None:
        self.address = address
        self._tls = address.tls_context()
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._link: _Link | None = None
        self._opening: asyncio.Task[_Link] | None = None

    @classmethod
    def from_url(cls, url: str) -> RedisLine:
        """A line to the Redis at ``url`` (nothing is opened until the first call)."""
        return cls(Address.from_url(url))

    async def call(self, *args: Arg) -> Reply:
        """Send one command and return its reply (an error reply is raised as ``ReplyError``).

        Sent a second time only when it certainly was not written the first (``NotSent``)."""
        command = encode(args)
        link = self._link
        future = link.send(command) if link is not None else None
        try:
            reply = await (future or self._send_anew(command))
        except NotSent:
            reply = await self._send_anew(command)
        if type(reply) is ReplyError:
            raise reply
        return reply

    async def _send_anew(self, command: bytes) -> Reply:
        """``command`` on the open connection, or on a new one."""
        future = (await self._open()).send(command)
        if future is None:
            raise LineDown("the connection to Redis closed as it opened")
        return await future

    async def _open(self) -> _Link:
        """The open connection, opening one if needed (the callers that come meanwhile wait for
        the same)."""
        link = self._link
        if link is not None and link.open:
            return link
        opening = self._opening
        if opening is None:
            opening = self._opening = asyncio.get_running_loop().create_task(self._connect())
            opening.add_done_callback(self._opened)
        try:
            return await asyncio.shield(opening)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if opening.cancelled() and current is not None and not current.cancelling():
                raise LineDown("the line to Redis was closed") from None  # by aclose, not this caller
            raise

    def _opened(self, opening: asyncio.Task[_Link]) -> None:
        if self._opening is opening:
            self._opening = None
        if not opening.cancelled() and opening.exception() is None:
            self._link = opening.result()

    async def _connect(self) -> _Link:
        """A new connection, logged in and on its database (``AUTH``, ``SELECT``)."""
        loop = asyncio.get_running_loop()
        address = self.address
        where = f"{address.host}:{address.port}"
        sock: socket.socket | None = None
        try:
            async with asyncio.timeout(self._connect_timeout):
                sock = connected = await _socket_to(loop, address.host, address.port)
                _, link = await loop.create_connection(
                    lambda: _Link(loop, connected, self._command_timeout), sock=connected,
                    ssl=self._tls, server_hostname=address.host if self._tls is not None else None,
                )
        except BaseException as error:
            if sock is not None:
                sock.close()
            if isinstance(error, TimeoutError):
                raise LineTimeout(f"no connection to Redis at {where} in {self._connect_timeout} s") from error
            if isinstance(error, OSError):
                raise LineDown(f"no connection to Redis at {where} ({error})") from error
            raise
        for name, command in address.greeting():
            future = link.send(command)
            if future is None:
                raise LineDown("the connection to Redis closed as it opened")
            try:
                reply = await future
            except BaseException:
                link.drop(LineDown("the connection to Redis did not open"))
                raise
            if isinstance(reply, ReplyError):
                refused = LineDown(f"Redis refused {name}: {reply}")
                link.drop(refused)
                raise refused
        return link

    async def aclose(self) -> None:
        """Close the connection (calls waiting fail); a later call opens another."""
        opening, self._opening = self._opening, None
        if opening is not None:
            opening.cancel()
            try:
                await opening
            except BaseException:  # noqa: BLE001  whatever became of it, it is not used
                pass
        link, self._link = self._link, None
        if link is not None:
            await link.close()


async def _socket_to(loop: asyncio.AbstractEventLoop, host: str, port: int) -> socket.socket:
    """A connected non-blocking socket to ``host`` (its first address that accepts)."""
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    failure: OSError = OSError(f"no address for {host}")
    for family, kind, proto, _, where in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, where)
        except OSError as error:
            sock.close()
            failure = error
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    raise failure
