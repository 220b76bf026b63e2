"""Helpers for the service's tests: free ports, a private ``redis-server``, key prefixes on the
shared Redis, and a server process to talk to. Test modules import the fixtures they use."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlencode

import httpx
import pytest
import redis
from twilio.request_validator import RequestValidator

SHARED_REDIS = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout: float = 10.0, every: float = 0.02, what: str = "condition"):
    """Poll ``condition()`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


class RedisServer:
    """A throw-away ``redis-server`` on a free port, nothing on disk; stop and start it at will."""

    def __init__(self, directory: Path, password: str | None = None, options: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.directory = directory
        self.password = password
        """``--requirepass``: the default user's password (the URL and ``client`` give it)."""
        self.options = options
        """More of ``redis-server``'s options (``--user …``)."""
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        login = f":{self.password}@" if self.password else ""
        return f"redis://{login}127.0.0.1:{self.port}/0"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(port=self.port, db=db, password=self.password, socket_timeout=1, decode_responses=True)

    def start(self) -> None:
        assert self.process is None
        login = ("--requirepass", self.password) if self.password else ()
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory), *login, *self.options],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, what="redis-server to answer")

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None


class Watch:
    """Commands matching a test's predicate, as ``RedisProxy`` sees them go by."""

    def __init__(self, proxy: RedisProxy, matches: Callable[[bytes], bool], hold: bool) -> None:
        self._proxy = proxy
        self.matches = matches
        self.hold = hold
        """Pass none of them on: Redis never gets them, their clients wait (and time out)."""
        self.seen = threading.Event()

    def close(self) -> None:
        """Stop watching (held commands stay held; later ones pass)."""
        self._proxy._remove(self)


class RedisProxy:
    """A TCP relay in front of a Redis server, on a free port, that slows every reply by
    ``delay`` seconds (so a process killed at a random moment is most likely mid-message),
    tells when a command it matches goes by (``watch``), can keep commands from ever reaching
    Redis (``trap``), so a test can kill a process at an exact step, and can hold commands back
    until others have come (``gate``). Threads, two a connection."""

    def __init__(self, upstream: int, delay: float = 0.0) -> None:
        self.upstream = upstream
        self.delay = delay
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._watches: list[Watch] = []
        self._gate: tuple[Callable[[bytes], bool], Callable[[bytes], bool]] | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProxy:
        threading.Thread(target=self._accept, name="redis-proxy", daemon=True).start()
        return self

    def watch(self, matches: Callable[[bytes], bool]) -> Watch:
        """Tell (``seen``) when a command ``matches`` accepts goes by (``matches`` gets the bytes a
        client sent since its last reply)."""
        return self._add(Watch(self, matches, hold=False))

    def trap(self, matches: Callable[[bytes], bool]) -> Watch:
        """Keep the commands ``matches`` accepts from Redis, and whatever their connections send
        after them, until the trap is closed; ``seen`` is set when the first arrives."""
        return self._add(Watch(self, matches, hold=True))

    def gate(self, matches: Callable[[bytes], bool], opens: Callable[[bytes], bool]) -> None:
        """Hold back a command ``matches`` accepts, and what its connection sends after it, until
        all that is held satisfies ``opens``; then pass it on at once, and the gate is gone. (The
        service sends every caller's commands on one connection, one after the other: this is how
        a test has two messages past a step before either goes on.)"""
        with self._lock:
            self._gate = (matches, opens)

    def _gated(self, held: bytearray, chunk: bytes) -> bool:
        """True when ``chunk`` is held back (added to ``held``); when the gate opens, ``held``
        holds what to pass on."""
        with self._lock:
            gate = self._gate
            if gate is None or not (held or gate[0](chunk)):
                return False
            held += chunk
            if not gate[1](bytes(held)):
                return True
            self._gate = None
            return False

    def _remove(self, watch: Watch) -> None:
        with self._lock:
            if watch in self._watches:
                self._watches.remove(watch)

    def _add(self, watch: Watch) -> Watch:
        with self._lock:
            self._watches.append(watch)
        return watch

    def stop(self) -> None:
        self._closed = True
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in [self._listener, *sockets]:
            try:
                sock.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
                server = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                return
            with self._lock:
                self._sockets += [client, server]
            request = bytearray()  # what the client sent since its last reply
            threading.Thread(target=self._requests, args=(client, server, request), daemon=True).start()
            threading.Thread(target=self._replies, args=(server, client, request), daemon=True).start()

    def _requests(self, client: socket.socket, server: socket.socket, request: bytearray) -> None:
        held = bytearray()  # by the gate
        try:
            while chunk := client.recv(65536):
                request += chunk
                if self._held(bytes(request)):
                    break
                if self._gated(held, chunk):
                    continue
                server.sendall(bytes(held) if held else chunk)
                held.clear()
            else:
                return
            while chunk := client.recv(65536):  # held: swallow everything until the client goes away,
                request += chunk                 # still telling the watches what comes (the service
                self._held(bytes(request))       # pipelines every caller's commands on one connection)
        except OSError:
            pass
        finally:
            _close(client, server)

    def _held(self, request: bytes) -> bool:
        with self._lock:
            watches = list(self._watches)
        held = False
        for watch in watches:
            if watch.matches(request):
                watch.seen.set()
                held = held or watch.hold
        return held

    def _replies(self, server: socket.socket, client: socket.socket, request: bytearray) -> None:
        try:
            while chunk := server.recv(65536):
                request.clear()
                if self.delay:
                    time.sleep(self.delay)
                client.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(client, server)


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private Redis, not started yet (tests decide when it comes and goes)."""
    server = RedisServer(tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_proxy(redis_server: RedisServer) -> Iterator[RedisProxy]:
    """A private Redis, started, behind a ``RedisProxy`` (no delay until the test sets one)."""
    redis_server.start()
    proxy = RedisProxy(redis_server.port).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own on the shared Redis; its keys are deleted afterwards."""
    mine = f"test:{uuid.uuid4().hex[:12]}:"
    yield mine
    client = redis.Redis.from_url(SHARED_REDIS)
    keys = list(client.scan_iter(match=mine + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


# --- a real server process ----------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 60.0
"""How long a server may take to answer after it is spawned: a few seconds alone, but three
starting at once on two cores shared with other work took over 20 (imports and flows loading)."""
TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_URL = "https://rinconcito.example.test"


def _replace(path: Path, text: str) -> None:
    """Write by replacing the file, so a server sees the change however soon it looks."""
    fresh = path.with_name(path.name + ".new")
    fresh.write_text(text)
    os.replace(fresh, path)


def set_clock(path: Path, when: datetime) -> None:
    """Make servers reading ``path`` (``TEST_CLOCK_FILE``) live at ``when`` from now on."""
    _replace(path, str(when.timestamp() - time.time()))


def move_clock(path: Path, seconds: float) -> None:
    _replace(path, str(float(path.read_text() or 0) + seconds))


class Server:
    """``python -m engine.http.serve`` on a free port, its log in a file; killed or stopped at will."""

    def __init__(self, directory: Path, env: dict[str, str], name: str = "server") -> None:
        self.port = free_port()
        self.log_path = directory / f"{name}-{self.port}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("REDIS", "TWILIO", "RATE_LIMIT", "RENDER"))},
            "APP_ENV": "test",
            "FLOWS_DIR": str(ROOT / "flows"),
            "PYTHONPATH": str(ROOT),
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine.http.serve", "--port", str(self.port)],
            cwd=self.log_path.parent, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        try:
            wait_for(self._healthy, timeout=START_SECONDS, what=f"server on port {self.port}")
        except AssertionError as failure:  # not left running: nothing would ever stop it
            self.kill()
            raise AssertionError(f"{failure} (log: {self.log()[-2000:]})") from None
        return self

    def _healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"server exited with {self.process.returncode}:\n{self.log()}")
        try:
            return httpx.get(self.base + "/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    def stop(self) -> int:
        """SIGTERM, as Render stops an instance; the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(30)
        self.process = None
        return code


def signature(fields: dict[str, str], token: str = TOKEN, url: str = PUBLIC_URL + "/webhook") -> str:
    return RequestValidator(token).compute_signature(url, fields)


def form(text: str = "", sender: str = "whatsapp:+5215512345678", sid: str | None = None, **extra: str) -> dict[str, str]:
    """The fields Twilio posts for one WhatsApp message."""
    fields = {
        "SmsMessageSid": sid or f"SM{uuid.uuid4().hex}",
        "NumMedia": "0",
        "ProfileName": "Ana",
        "WaId": sender.removeprefix("whatsapp:+"),
        "Body": text,
        "To": "whatsapp:+14155238886",
        "From": sender,
        "MessageSid": sid or f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
        **extra,
    }
    fields["SmsMessageSid"] = fields["MessageSid"]
    return fields


def post(client: httpx.Client, base: str, fields: dict[str, str], sign: bool = True, **kwargs) -> httpx.Response:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if sign:
        headers["X-Twilio-Signature"] = signature(fields)
    return client.post(base + "/webhook", content=urlencode(fields), headers=headers, **kwargs)


def replies(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/xml")
    return [message.text or "" for message in ET.fromstring(response.text).findall("Message")]


def recipients(response: httpx.Response) -> set[str]:
    return {message.get("to", "") for message in ET.fromstring(response.text).findall("Message")}
