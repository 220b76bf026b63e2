"""A small fake of Twilio's Messages API on loopback, for the real twilio client to talk to.

``TwilioFake`` is a real HTTP server (``http.server`` in a thread, on a free port) that records
every request (path, basic-auth credentials, form fields) and answers what the test tells it:
``created()`` (201 with a message resource shaped like Twilio's), ``status(429)``,
``status(500)``, ``error(400, 63016)``, or ``HANG`` (no answer until the fake stops, for
timeouts). Answers queued with ``answer(...)`` are used one per request, then ``default``.

``hold_next(matches)`` holds one request back: the next one whose form ``matches`` accepts is
answered as usual and recorded with that answer (a 201 is a message Twilio took), but the HTTP
answer waits until ``Hold.release()`` (or the fake stops), so a test can kill its sender in
between: Twilio has the message, the sender does not know it.

twilio-python has no base-URL setting: tests point the real client at the fake with
``engine.sender.BaseUrlTwilioHttpClient(fake.url)`` (or ``TWILIO_API_BASE`` for a test server).

Status callbacks: a message created with a ``StatusCallback`` can be reported on as Twilio does,
a form posted to that URL and signed with the account's auth token (``token``) for that URL:
``callback(request, "delivered")``, ``callback(request, "failed", 63016)``, in any order and as
often as the test likes. The URL is the public one (``PUBLIC_URL``...); ``via`` is where the
service really listens (a proxy's job in production).

Content: a message may carry ``ContentSid`` and ``ContentVariables`` (a JSON object of strings)
instead of ``Body``, as Twilio's Messages API takes a Content template. When ``contents`` is set
(the SIDs the account has), an unknown ``ContentSid`` is refused as Twilio refuses it (400, error
21655) and variables that are not a JSON object of strings too (400, error 21656); ``Recorded``
keeps the form either way (``content_sid``, ``content_variables``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from twilio.request_validator import RequestValidator


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any] | str | None = None
    hang: bool = False


def created() -> Answer:
    return Answer(201)


def status(code: int) -> Answer:
    """A bare status with a body that is not JSON (what a proxy in front of Twilio would say)."""
    return Answer(code, "<html>error</html>")


def error(http_status: int, code: int, message: str = "error") -> Answer:
    """Twilio's error JSON: ``{"code": 63016, "message": ..., "status": 400, "more_info": ...}``."""
    return Answer(
        http_status,
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": http_status},
    )


HANG = Answer(0, hang=True)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    auth: tuple[str, str] | None
    form: dict[str, str]
    answered: int
    """The status answered (0: hung; held: the status its answer carries once released)."""
    at: float
    """When it arrived (``time.monotonic()``)."""
    sid: str | None = None
    """The SID of the message created (answered 201)."""

    @property
    def content_sid(self) -> str | None:
        return self.form.get("ContentSid") or None

    @property
    def content_variables(self) -> dict[str, str]:
        return json.loads(self.form.get("ContentVariables") or "{}")


@dataclass
class Hold:
    """One request whose answer waits (``TwilioFake.hold_next``)."""

    matches: Callable[[dict[str, str]], bool]
    """Which request to hold, by its form fields."""
    seen: threading.Event = field(default_factory=threading.Event)
    """Set once the request is recorded and its answer held."""
    request: Recorded | None = None
    """The request held (once ``seen``)."""
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        """Let the answer go (to a sender that may be dead by now)."""
        self.released.set()


@dataclass
class TwilioFake:
    default: Answer = field(default_factory=created)
    requests: list[Recorded] = field(default_factory=list)
    token: str | None = None
    """The auth token callbacks are signed with."""
    via: str | None = None
    """Where callbacks are posted (scheme and host); None: the StatusCallback URL itself."""
    callbacks: list[tuple[str, str, int]] = field(default_factory=list)
    """Callbacks posted: (message SID, status, the HTTP status answered)."""
    contents: set[str] | None = None
    """The Content SIDs the account has (None: any ``ContentSid`` is taken)."""

    def __post_init__(self) -> None:
        self._answers: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._holds: list[Hold] = []
        """Holds waiting for their request."""
        self._held: list[Hold] = []
        """Holds that took their request (released when the fake stops)."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, *answers: Answer) -> None:
        with self._lock:
            self._answers.extend(answers)

    def hold_next(self, matches: Callable[[dict[str, str]], bool] = lambda form: True) -> Hold:
        """Hold the answer to the next request whose form ``matches`` accepts (see the module)."""
        hold = Hold(matches)
        with self._lock:
            self._holds.append(hold)
        return hold

    def start(self) -> TwilioFake:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), name="twilio-fake", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()  # hung requests end now
        with self._lock:
            held = self._held + self._holds
        for hold in held:
            hold.release()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def sent(self) -> list[Recorded]:
        """The requests answered 201 (messages Twilio would deliver)."""
        with self._lock:
            return [r for r in self.requests if r.answered == 201]

    async def wait_for(self, condition: Callable[[list[Recorded]], bool], timeout: float = 10.0) -> list[Recorded]:
        """Wait (letting the event loop run) until ``condition(requests)``; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                seen = list(self.requests)
            if condition(seen):
                return seen
            if time.monotonic() > deadline:
                raise AssertionError(f"the Twilio fake saw {[(r.form.get('To'), r.answered) for r in seen]}")
            await asyncio.sleep(0.01)

    def callback(self, request: Recorded, status: str, error_code: int | None = None) -> int:
        """Post the status callback Twilio would for the message ``request`` created; the answer's status."""
        url = request.form.get("StatusCallback")
        assert url and request.sid and self.token, "a created message with a StatusCallback, and the token"
        fields = {
            "MessageSid": request.sid, "SmsSid": request.sid, "MessageStatus": status, "SmsStatus": status,
            "AccountSid": request.path.split("/")[3], "From": request.form.get("From", ""),
            "To": request.form.get("To", ""), "ApiVersion": "2010-04-01", "ChannelPrefix": "whatsapp",
            "ChannelToAddress": request.form.get("To", "").removeprefix("whatsapp:"),
        }
        if error_code is not None:
            fields["ErrorCode"] = str(error_code)
        headers = {"X-Twilio-Signature": RequestValidator(self.token).compute_signature(url, fields)}
        target = url if self.via is None else self.via.rstrip("/") + urlsplit(url).path
        answered = httpx.post(target, data=fields, headers=headers, timeout=10).status_code
        with self._lock:
            self.callbacks.append((request.sid, status, answered))
        return answered

    def message(self, sid: str) -> Recorded:
        with self._lock:
            return next(r for r in self.requests if r.sid == sid)

    def _content_refusal(self, form: dict[str, str]) -> Answer | None:
        """Twilio's refusal of a message with a Content template it cannot send (None: fine)."""
        sid = form.get("ContentSid")
        if sid is None or self.contents is None:
            return None
        if sid not in self.contents:
            return error(400, 21655, "The ContentSid is Invalid")
        try:
            variables = json.loads(form.get("ContentVariables") or "{}")
        except ValueError:
            variables = None
        if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
            return error(400, 21656, "The ContentVariables Parameter is invalid")
        return None

    def _next(self) -> Answer:
        with self._lock:
            return self._answers.popleft() if self._answers else self.default

    def _record(self, request: Recorded) -> Hold | None:
        """Record ``request``; the hold that takes it, if one does."""
        with self._lock:
            self.requests.append(request)
            hold = next((h for h in self._holds if h.matches(request.form)), None)
            if hold is not None:
                self._holds.remove(hold)
                self._held.append(hold)
                hold.request = request
        if hold is not None:
            hold.seen.set()
        return hold

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode(), keep_blank_values=True).items()}
                auth = _basic_auth(self.headers.get("Authorization"))
                answer = fake._content_refusal(form) or fake._next()
                body = answer.body if answer.body is not None else _message(self.path, form)
                sid = body.get("sid") if isinstance(body, dict) and answer.status == 201 else None
                recorded = Recorded("POST", self.path, auth, form, answer.status, time.monotonic(), sid)
                hold = fake._record(recorded)
                if answer.hang:
                    fake._release.wait(30)
                    return
                if hold is not None:
                    hold.released.wait(30)
                data = (json.dumps(body) if isinstance(body, dict) else body).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json" if isinstance(body, dict) else "text/html")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up first
                    pass

        return Handler


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


def _message(path: str, form: dict[str, str]) -> dict[str, Any]:
    """A message resource as Twilio returns it on creation."""
    account = path.split("/")[3] if path.count("/") >= 4 else "AC"
    sid = "SM" + uuid.uuid4().hex
    return {
        "sid": sid,
        "account_sid": account,
        "api_version": "2010-04-01",
        "body": form.get("Body", ""),
        "date_created": formatdate(usegmt=True),
        "date_sent": None,
        "date_updated": formatdate(usegmt=True),
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "status": "queued",
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"},
        "to": form.get("To"),
        "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
    }
