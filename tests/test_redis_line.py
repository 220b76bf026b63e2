"""The store's own line to Redis (``engine.storage.redis_line``): every caller's reply its own,
errors as replies, and what a Redis that stops, restarts, never answers or asks for a password
does to it: calls fail at once with an error the fallback reads as "Redis is down", and the next
call opens a new connection. Against the shared Redis, private ``redis-server`` processes and a
server that reads and never answers."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis
from servicekit import SHARED_REDIS, RedisServer, free_port, prefix, redis_server, wait_for  # noqa: F401  (fixtures)

from engine.storage.fallback import BACK, LOST, REDIS_DOWN, UNAVAILABLE, FallbackStore
from engine.storage.redis_line import (
    COMMAND_TIMEOUT,
    Address,
    Incomplete,
    LineDown,
    LineTimeout,
    RedisLine,
    ReplyError,
    encode,
    parse,
)
from engine.storage.redis_store import RedisStore
from engine.storage.store import MemoryStore

pytestmark = pytest.mark.anyio


@pytest.fixture(params=[pytest.param(("asyncio", {}), id="asyncio"),
                        pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop")])
def anyio_backend(request):
    """Each test on asyncio's own event loop and on uvloop's, which the server runs on."""
    return request.param


class Ticks:
    """A monotonic clock the test moves by hand (when the store may probe Redis again)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO, logger="test.line")
    return logging.getLogger("test.line")


def messages(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "test.line"]


async def test_many_callers_at_once_each_get_their_own_replies_in_order(prefix):  # noqa: F811
    line = RedisLine.from_url(SHARED_REDIS)

    async def caller(n: int) -> list[object]:
        got: list[object] = []
        for i in range(20):
            got.append(await line.call("ECHO", f"{n}:{i}"))
            got.append(await line.call("INCR", f"{prefix}count:{n}"))
        return got

    try:
        results = await asyncio.gather(*(caller(n) for n in range(50)))
        for n, got in enumerate(results):
            assert got == [reply for i in range(20) for reply in (f"{n}:{i}", i + 1)]
    finally:
        await line.aclose()


async def test_every_kind_of_reply_is_read(prefix):  # noqa: F811
    line = RedisLine.from_url(SHARED_REDIS)
    big = "ñ🌮" * 200_000  # 1.4 MB: many reads of the socket for one reply
    try:
        assert await line.call("PING") == "PONG"
        assert await line.call("SET", prefix + "big", big) == "OK"
        assert await line.call("GET", prefix + "big") == big
        assert await line.call("GET", prefix + "nothing") is None
        assert await line.call("PTTL", prefix + "nothing") == -2
        assert await line.call("SET", prefix + "n", 7, "PX", 60000) == "OK"
        assert 0 < await line.call("PTTL", prefix + "n") <= 60000
        assert await line.call("EVAL", "return {1, 'two', {false, 'ñ'}, {}}", 0) == [1, "two", [None, "ñ"], []]
        assert await line.call("ECHO", b"\x00\r\n") == "\x00\r\n"
    finally:
        await line.aclose()


async def test_an_error_reply_fails_its_own_call_and_no_other(prefix):  # noqa: F811
    line = RedisLine.from_url(SHARED_REDIS)
    try:
        await line.call("SET", prefix + "text", "not a number")
        before, failed, after = await asyncio.gather(
            line.call("ECHO", "before"), line.call("INCR", prefix + "text"), line.call("ECHO", "after"),
            return_exceptions=True,
        )
        assert (before, after) == ("before", "after")
        assert isinstance(failed, ReplyError) and isinstance(failed, redis.exceptions.ResponseError)
        assert "not an integer" in str(failed)
        inside = await line.call("EVAL", "return {1, redis.error_reply('boom'), 'x'}", 0)
        assert inside[0] == 1 and inside[2] == "x"
        assert isinstance(inside[1], ReplyError) and str(inside[1]).endswith("boom")
        assert await line.call("ECHO", "still fine") == "still fine"
    finally:
        await line.aclose()


async def test_a_cancelled_call_leaves_the_next_its_own_reply():
    line = RedisLine.from_url(SHARED_REDIS)
    try:
        assert await line.call("PING") == "PONG"
        given_up = asyncio.create_task(line.call("ECHO", "nobody waits for this"))
        await asyncio.sleep(0)  # the task runs until it waits for its reply
        given_up.cancel()
        assert await line.call("ECHO", "mine") == "mine"
        assert given_up.cancelled()
    finally:
        await line.aclose()


async def test_a_reply_that_came_while_the_event_loop_was_held_up_is_read_not_timed_out():
    """Work that holds the event loop longer than the command timeout (SQLite waiting for another
    process's lock) must not turn the reply that came meanwhile into a timeout: uvloop runs its
    timers before it reads the sockets, so the line looks again a moment later. The reply comes
    from a server in a thread, sent only once the event loop is held up inside an I/O callback."""
    listener = socket.create_server(("127.0.0.1", 0))
    got, go = threading.Event(), threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            got.set()
            go.wait(10)
            connection.sendall(b"+PONG\r\n")
            connection.recv(65536)  # until the line closes

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    line = RedisLine.from_url(f"redis://127.0.0.1:{listener.getsockname()[1]}/0")

    def hold_up() -> None:
        loop.remove_reader(ours.fileno())
        go.set()
        busy_until = time.monotonic() + 2 * COMMAND_TIMEOUT
        while time.monotonic() < busy_until:  # nothing is read meanwhile
            pass

    try:
        waiting = asyncio.create_task(line.call("PING"))
        assert await asyncio.to_thread(got.wait, 10)  # the command has been written
        loop.add_reader(ours.fileno(), hold_up)
        theirs.send(b"!")
        assert await waiting == "PONG"
    finally:
        await line.aclose()
        server.join(10)
        for sock in (ours, theirs, listener):
            sock.close()


async def test_a_redis_that_forgot_the_script_is_given_it_again(redis_server):  # noqa: F811
    redis_server.start()
    store = RedisStore(RedisLine.from_url(redis_server.url), "t:")
    plain = redis_server.client()
    try:
        await store.set("k", "v", 60)  # a new Redis does not know the script either
        plain.script_flush()
        plain.config_resetstat()
        assert await store.get("k") == "v"  # NOSCRIPT, then SCRIPT LOAD and the same call again
        stats = plain.info("commandstats")
        assert stats["cmdstat_script|load"]["calls"] == 1
        assert stats["cmdstat_evalsha"] == {**stats["cmdstat_evalsha"], "calls": 2, "failed_calls": 1}
    finally:
        await store.aclose()


async def test_a_redis_restarted_while_the_line_is_idle_costs_no_call(redis_server):  # noqa: F811
    """The event loop does not run between the stop and the start: the old connection's end of
    file waits unread when the next call comes, which therefore goes on a new connection."""
    redis_server.start()
    line = RedisLine.from_url(redis_server.url)
    try:
        assert await line.call("SET", "k", "1") == "OK"
        redis_server.stop()
        redis_server.start()
        assert await line.call("GET", "k") is None  # answered by the new Redis (which keeps nothing)
        assert await line.call("SET", "k", "2") == "OK"
        assert redis_server.client().get("k") == "2"
    finally:
        await line.aclose()


async def test_a_redis_stopped_mid_load_fails_the_calls_at_once_then_the_store_goes_back(redis_server, log, caplog):  # noqa: F811
    redis_server.start()
    ticks = Ticks()
    store = FallbackStore(RedisStore(RedisLine.from_url(redis_server.url), "t:"), MemoryStore(time.time), log,
                          probe_every=5.0, carry_over=("s:",), monotonic=ticks)
    await store.start()
    assert store.mode == "redis"
    done = 0

    async def customer(n: int) -> None:
        nonlocal done
        for i in range(40):
            await store.set(f"s:{n}", str(i), 60)
            assert await store.get(f"s:{n}") == str(i)
            done += 1
            if done == 300:  # others' calls are on the line now: Redis goes away under them
                redis_server.stop()

    try:
        started = time.perf_counter()
        await asyncio.gather(*(customer(n) for n in range(32)))
        elapsed = time.perf_counter() - started
        assert store.mode == "memory"
        lost = [m for m in messages(caplog) if m.startswith(LOST)]
        assert lost == [f"{LOST} (LineDown)"]  # the connection lost, not a wait for a timeout
        assert elapsed < 2.0, f"1,280 calls with Redis stopped under them took {elapsed:.2f}s"

        redis_server.start()
        ticks.now += 6
        assert await store.get("s:0") == "39"
        assert store.mode == "redis"
        assert messages(caplog)[-1] == BACK
        assert redis_server.client().get("t:s:31") == "39"
    finally:
        await store.close()


class Silent:
    """A server that accepts connections and reads all that comes, and never answers."""

    def __init__(self) -> None:
        self.accepted = 0
        self.got = asyncio.Event()
        """Set when something has come."""
        self.closed = asyncio.Event()
        """Set when a connection is closed by the client."""
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._swallow, "127.0.0.1", 0)
        return f"redis://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/0"

    async def _swallow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            while await reader.read(65536):
                self.got.set()
        except ConnectionError:
            pass
        self.closed.set()
        writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()


class ResetsFirst:
    """A server that resets its first connection as soon as a command comes on it (a Redis that
    dies under a call) and answers ``PING`` on the next ones; it keeps every command it got."""

    def __init__(self) -> None:
        self.got: list[tuple[int, bytes]] = []
        """(connection, what came), in order."""
        self.reset = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"redis://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/0"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = len({n for n, _ in self.got}) + 1
        while data := await reader.read(65536):
            self.got.append((connection, data))
            if connection == 1:
                writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()  # closed with a reset, at the start of the next turn of the loop
                self.reset.set()
                return
            writer.write(b"+PONG\r\n" * data.count(b"PING"))
        writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()


async def test_a_call_in_flight_when_the_connection_dies_fails_and_one_not_yet_written_goes_on_a_new_one():
    """The first call's command reached the server, which resets the connection: that call fails
    (it may have run: never sent again). The second is queued after the reset came in but before
    its write: the write fails at once, so it certainly did not leave, and it goes on a new
    connection. (The event loop runs the reset, the second call's queuing, then its write, in that
    order: one turn of the loop each.)"""
    server = ResetsFirst()
    line = RedisLine.from_url(await server.start())
    try:
        first = asyncio.create_task(line.call("PING", "first"))
        await server.reset.wait()
        second = await line.call("PING", "second")
        assert second == "PONG"
        with pytest.raises(LineDown):
            await first
        assert [(n, data.count(b"first"), data.count(b"second")) for n, data in server.got] == [(1, 1, 0), (2, 0, 1)]
    finally:
        await line.aclose()
        await server.stop()


async def test_a_redis_that_never_answers_times_out_every_call_and_is_replaced():
    silent = Silent()
    line = RedisLine.from_url(await silent.start())
    try:
        results = await asyncio.gather(*(line.call("PING") for _ in range(5)), return_exceptions=True)
        assert all(isinstance(result, LineTimeout) for result in results), results
        assert isinstance(results[0], redis.exceptions.TimeoutError) and isinstance(results[0], REDIS_DOWN)
        await asyncio.wait_for(silent.closed.wait(), 5)  # the connection that timed out is dropped
        assert silent.accepted == 1
        with pytest.raises(LineTimeout):
            await line.call("PING")
        assert silent.accepted == 2  # the next call opened another
    finally:
        await line.aclose()
        await silent.stop()


async def test_a_store_on_a_redis_that_never_answers_starts_on_memory(log, caplog):
    silent = Silent()
    store = FallbackStore(RedisStore(RedisLine.from_url(await silent.start()), "t:"), MemoryStore(time.time), log)
    try:
        await store.start()
        assert store.mode == "memory"
        assert messages(caplog) == [f"{UNAVAILABLE} (LineTimeout)"]
        assert await store.set_if_absent("seen:1", "1", 60) is True
    finally:
        await store.close()
        await silent.stop()


async def test_nothing_listening_fails_at_once_with_a_connection_error():
    line = RedisLine.from_url(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(LineDown) as failed:
        await line.call("PING")
    assert isinstance(failed.value, redis.exceptions.ConnectionError)
    with pytest.raises(LineDown):  # and again: nothing is kept from the failed attempt
        await line.call("PING")


async def test_closing_fails_the_calls_waiting_and_a_later_call_opens_again():
    silent = Silent()
    line = RedisLine.from_url(await silent.start())
    try:
        waiting = asyncio.create_task(line.call("PING"))
        await asyncio.wait_for(silent.got.wait(), 5)  # the command was written: its call waits
        await line.aclose()
        with pytest.raises(LineDown):
            await waiting
        with pytest.raises(LineTimeout):
            await line.call("PING")
        assert silent.accepted == 2
    finally:
        await line.aclose()
        await silent.stop()


async def test_auth_and_select_as_the_url_says(tmp_path):
    server = RedisServer(tmp_path, password="s3cret", options=("--user", "ana", "on", ">pa:ss@", "~*", "&*", "+@all"))
    server.start()
    lines: list[RedisLine] = []

    def line(url: str) -> RedisLine:
        lines.append(RedisLine.from_url(url))
        return lines[-1]

    try:
        default = line(f"redis://:s3cret@127.0.0.1:{server.port}/3")
        assert await default.call("SET", "k", "in three") == "OK"
        assert server.client(db=3).get("k") == "in three" and server.client(db=0).get("k") is None
        ana = line(f"redis://ana:pa%3Ass%40@127.0.0.1:{server.port}")
        assert await ana.call("ACL", "WHOAMI") == "ana"
        assert await ana.call("GET", "k") is None  # database 0

        with pytest.raises(LineDown, match="AUTH"):
            await line(f"redis://:wrong@127.0.0.1:{server.port}/0").call("PING")
        with pytest.raises(ReplyError, match="NOAUTH"):
            await line(f"redis://127.0.0.1:{server.port}/0").call("PING")
        with pytest.raises(LineDown, match="SELECT"):
            await line(f"redis://:s3cret@127.0.0.1:{server.port}/99").call("PING")
    finally:
        for each in lines:
            await each.aclose()
        server.stop()


@pytest.fixture
def tls_redis(tmp_path: Path):
    """A private ``redis-server`` speaking only TLS, its certificate self-signed for localhost:
    (the port, the certificate's path)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert),
         "--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )

    def accepts() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            return False

    try:
        wait_for(accepts, what="redis-server with TLS to listen")
        yield port, cert
    finally:
        process.kill()
        process.wait(5)


async def test_rediss_speaks_tls_and_checks_the_certificate(tls_redis):
    port, cert = tls_redis
    trusted = RedisLine.from_url(f"rediss://localhost:{port}/0?ssl_ca_certs={cert}")
    unchecked = RedisLine.from_url(f"rediss://127.0.0.1:{port}/1?ssl_cert_reqs=none")
    stranger = RedisLine.from_url(f"rediss://localhost:{port}/0")  # the system's certificates only
    try:
        assert await trusted.call("SET", "k", "over tls") == "OK"
        assert await trusted.call("GET", "k") == "over tls"
        assert await unchecked.call("GET", "k") is None  # database 1
        with pytest.raises(LineDown) as failed:
            await stranger.call("PING")
        assert isinstance(failed.value.__cause__, ssl.SSLCertVerificationError)
    finally:
        for line in (trusted, unchecked, stranger):
            await line.aclose()


def test_urls_as_render_gives_them():
    assert Address.from_url("redis://red-abc123:6379") == Address(host="red-abc123", port=6379)
    external = Address.from_url("rediss://red-abc123:p%40ss%2Fword@oregon-keyvalue.render.com:6379")
    assert external == Address(host="oregon-keyvalue.render.com", port=6379, username="red-abc123",
                               password="p@ss/word", tls=True)
    assert Address.from_url("redis://:only-a-password@localhost/2") == Address(
        host="localhost", db=2, password="only-a-password")
    assert Address.from_url("redis://127.0.0.1:6379/0?db=4").db == 4
    assert Address.from_url("rediss://h?ssl_cert_reqs=none").verify is False
    with pytest.raises(ValueError):
        Address.from_url("unix:///tmp/redis.sock")
    with pytest.raises(ValueError):
        Address.from_url("rediss://h?ssl_cert_reqs=sometimes")


def test_commands_and_replies_on_the_wire():
    assert encode(("EVALSHA", "ab", 2, "k:ñ", b"\x00")) == (
        b"*5\r\n$7\r\nEVALSHA\r\n$2\r\nab\r\n$1\r\n2\r\n$4\r\nk:\xc3\xb1\r\n$1\r\n\x00\r\n")
    wire = b"+OK\r\n:-2\r\n$-1\r\n$5\r\nse\r\nr\r\n-NOSCRIPT No matching script\r\n*3\r\n:1\r\n*-1\r\n*1\r\n$0\r\n\r\n"
    replies, at = [], 0
    while at < len(wire):
        reply, at = parse(wire, at)
        replies.append(reply)
    assert replies[:4] == ["OK", -2, None, "se\r\nr"]
    assert isinstance(replies[4], ReplyError) and str(replies[4]) == "NOSCRIPT No matching script"
    assert replies[5] == [1, None, [""]]
    # Cut anywhere, a reply is incomplete and says how much must be there before it is read again.
    for cut in range(len(wire)):
        start = 0
        while start < cut:
            try:
                _, end = parse(wire[:cut], start)
            except Incomplete as short:
                assert cut < short.need <= len(wire)
                break
            start = end
