"""A small fake of Twilio's Content API on loopback, for ``engine.channels.twilio.content`` to talk to.

``ContentFake`` is a real HTTP server (``http.server`` in a thread, on a free port) holding Content
resources in memory, and answering as https://www.twilio.com/docs/content/content-api-resources
shows:

- ``POST /v1/Content`` (a JSON body: ``friendly_name``, ``language``, ``variables``, ``types``)
  -> 201 and the resource: ``sid`` (``HX`` + 32 hex digits), ``account_sid``, ``friendly_name``,
  ``language``, ``variables``, ``types``, ``url``, ``date_created``/``date_updated``
  (``2022-08-29T10:43:20Z``) and ``links`` (``approval_create``, ``approval_fetch``);
- ``GET /v1/Content?PageSize=n`` -> ``{"contents": [...], "meta": {"page", "page_size",
  "first_page_url", "previous_page_url", "url", "next_page_url", "key": "contents"}}``, the next
  page reached by following ``next_page_url`` (its ``PageToken`` is the fake's own);
- ``GET /v1/Content/{sid}`` -> the resource, or 404 with Twilio's error JSON
  (``{"code": 20404, "message": ..., "more_info": ..., "status": 404}``).

Wrong credentials get 401 (error 20003), as Twilio answers. A create the real API would refuse
(no name, no types, a quick-reply with no buttons...) gets 400 with Twilio's error shape; which
code Twilio gives each such mistake is not documented, so the fake's (21610) is its own.

``fail(status, method=..., after=n)`` queues a failure for a request to come (of that method,
after ``n`` answered as usual); it is used once. ``requests`` records every request; ``created()`` the creates that succeeded. ``remove(sid)``
deletes a resource, as someone could in Twilio's console.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ACCOUNT_SID = "AC" + "c0" * 16
AUTH_TOKEN = "content-fake-token-0123456789"
DEFAULT_PAGE_SIZE = 50
INVALID_CONTENT = 21610
"""The fake's code for a create it refuses (see the module's docstring)."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    auth: tuple[str, str] | None
    body: Any
    answered: int


@dataclass(frozen=True)
class Failure:
    status: int
    method: str | None = None
    """Only a request of this method takes it (None: the next request)."""
    code: int | None = None
    """Twilio's error code in a JSON body; None: a body that is not JSON (a proxy's error page)."""
    after: int = 0
    """Requests (of that method) answered as usual before this one fails."""


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


@dataclass
class ContentFake:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._contents: list[dict[str, Any]] = []
        self._failures: deque[Failure] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ContentFake:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), name="content-fake", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def fail(self, status: int, method: str | None = None, code: int | None = None, after: int = 0) -> None:
        with self._lock:
            self._failures.append(Failure(status, method, code, after))

    def contents(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self._contents]

    def created(self) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.answered == 201]

    def remove(self, sid: str) -> None:
        with self._lock:
            self._contents = [c for c in self._contents if c["sid"] != sid]

    # ------------------------------------------------------------ answering

    def _answer(self, method: str, target: str, auth: tuple[str, str] | None, raw: bytes) -> tuple[int, Any]:
        parts = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        body: Any = None
        with self._lock:
            status, answer = self._decide(method, parts.path, query, auth, raw)
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            self.requests.append(Request(method, parts.path, query, auth, body, status))
        return status, answer

    def _decide(self, method: str, path: str, query: dict[str, str], auth: tuple[str, str] | None, raw: bytes) -> tuple[int, Any]:
        failure = next((f for f in self._failures if f.method in (None, method)), None)
        if failure is not None and failure.after:
            self._failures[self._failures.index(failure)] = replace(failure, after=failure.after - 1)
            failure = None
        if failure is not None:
            self._failures.remove(failure)
            if failure.code is None:
                return failure.status, "<html>error</html>"
            return failure.status, twilio_error(failure.status, failure.code, "error")
        if auth != (self.account_sid, self.auth_token):
            return 401, twilio_error(401, 20003, "Authenticate")
        if path == "/v1/Content" and method == "POST":
            return self._create(raw)
        if path == "/v1/Content" and method == "GET":
            return 200, self._page(query)
        if path.startswith("/v1/Content/") and method == "GET":
            sid = path.rsplit("/", 1)[1]
            found = next((c for c in self._contents if c["sid"] == sid), None)
            if found is None:
                return 404, twilio_error(404, 20404, f"The requested resource /Content/{sid} was not found")
            return 200, found
        return 404, twilio_error(404, 20404, f"The requested resource {path} was not found")

    def _create(self, raw: bytes) -> tuple[int, Any]:
        try:
            request = json.loads(raw)
        except ValueError:
            return 400, twilio_error(400, INVALID_CONTENT, "Invalid JSON")
        problem = _invalid(request)
        if problem:
            return 400, twilio_error(400, INVALID_CONTENT, problem)
        sid = "HX" + uuid.uuid4().hex
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        resource = {
            "account_sid": self.account_sid,
            "date_created": now,
            "date_updated": now,
            "friendly_name": request["friendly_name"],
            "language": request["language"],
            "links": {
                "approval_create": f"{self.url}/v1/Content/{sid}/ApprovalRequests/whatsapp",
                "approval_fetch": f"{self.url}/v1/Content/{sid}/ApprovalRequests",
            },
            "sid": sid,
            "types": request["types"],
            "url": f"{self.url}/v1/Content/{sid}",
            "variables": request.get("variables") or {},
        }
        self._contents.append(resource)
        return 201, resource

    def _page(self, query: dict[str, str]) -> dict[str, Any]:
        size = max(1, min(int(query.get("PageSize", DEFAULT_PAGE_SIZE)), 1000))
        page = int(query.get("Page", 0))
        start = int(query.get("PageToken", "PT0")[2:] or 0) if "PageToken" in query else 0
        chunk = self._contents[start : start + size]
        more = start + size < len(self._contents)
        here = f"{self.url}/v1/Content?PageSize={size}&Page={page}"
        return {
            "contents": chunk,
            "meta": {
                "page": page,
                "page_size": size,
                "first_page_url": f"{self.url}/v1/Content?PageSize={size}&Page=0",
                "previous_page_url": f"{self.url}/v1/Content?PageSize={size}&Page={page - 1}&PageToken=PT{max(0, start - size)}" if page else None,
                "url": here + (f"&PageToken=PT{start}" if page else ""),
                "next_page_url": f"{self.url}/v1/Content?PageSize={size}&Page={page + 1}&PageToken=PT{start + size}" if more else None,
                "key": "contents",
            },
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, answer = fake._answer(self.command, self.path, _basic_auth(self.headers.get("Authorization")), raw)
                data = (json.dumps(answer) if not isinstance(answer, str) else answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json" if not isinstance(answer, str) else "text/html")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up first
                    pass

            do_GET = do_POST = _serve

        return Handler


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


def _invalid(request: Any) -> str:
    """Why Twilio would refuse this create ("" when it would not), for what the engine makes."""
    if not isinstance(request, dict):
        return "The request body must be a JSON object"
    if not isinstance(request.get("friendly_name"), str) or not request["friendly_name"]:
        return "friendly_name is required"
    if not isinstance(request.get("language"), str) or not request["language"]:
        return "language is required"
    types = request.get("types")
    if not isinstance(types, dict) or not types:
        return "types is required"
    quick = types.get("twilio/quick-reply")
    if quick is not None:
        actions = quick.get("actions") if isinstance(quick, dict) else None
        if not isinstance(actions, list) or not isinstance(quick.get("body"), str) or not 1 <= len(actions) <= 10:
            return "twilio/quick-reply needs a body and 1 to 10 actions"
        if any(not isinstance(a, dict) or not a.get("title") or not a.get("id") for a in actions):
            return "every quick-reply action needs a title and an id"
    picker = types.get("twilio/list-picker")
    if picker is not None:
        items = picker.get("items") if isinstance(picker, dict) else None
        if not isinstance(items, list) or not isinstance(picker.get("body"), str) or not picker.get("button") or not 1 <= len(items) <= 10:
            return "twilio/list-picker needs a body, a button and 1 to 10 items"
        if any(not isinstance(i, dict) or not i.get("item") or not i.get("id") for i in items):
            return "every list item needs an item and an id"
    return ""
