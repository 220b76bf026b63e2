"""The Content API's HTTP client (https://www.twilio.com/docs/content/content-api-resources), see
``engine.channels.twilio.content`` for what it is used for.

Imported only when Twilio's credentials are set (``engine.http.content.content_client``): httpx,
and whatever its package pulls in, cost ≈ 0.1 s of CPU and a few MB at a start that has no use
for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from engine.channels.twilio.content import ContentApiError, ContentResource

CONTENT_API = "https://content.twilio.com"
TIMEOUT = 10.0
"""Seconds for one request to the Content API."""
PAGE_SIZE = 500
"""Templates per page when listing (Twilio recommends at most 500: a page holds up to 1 MB)."""


class ContentClient:
    """The Content API with the account's credentials; ``base`` is a local fake's address in tests."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        base: str = CONTENT_API,
        timeout: float = TIMEOUT,
        page_size: int = PAGE_SIZE,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("ContentClient needs the account SID and the auth token")
        self._account = account_sid
        self._page_size = page_size
        self._http = httpx.AsyncClient(
            base_url=base.rstrip("/"), auth=(account_sid, auth_token), timeout=timeout, transport=transport,
            headers={"Accept": "application/json"},
        )

    def __repr__(self) -> str:  # never the token, even in a traceback
        return f"ContentClient(account={self._account[:6]}…, base={str(self._http.base_url)!r})"

    async def create(self, request: Mapping[str, Any]) -> ContentResource:
        response = await self._call("POST", "/v1/Content", json=dict(request))
        return ContentResource.from_json(_json(response))

    async def fetch(self, sid: str) -> ContentResource | None:
        """The resource, or None when Twilio no longer has it."""
        try:
            response = await self._call("GET", f"/v1/Content/{sid}")
        except ContentApiError as error:
            if error.status == 404:
                return None
            raise
        return ContentResource.from_json(_json(response))

    async def list(self) -> list[ContentResource]:
        """Every Content resource of the account, page after page."""
        found: list[ContentResource] = []
        url: str | None = f"/v1/Content?PageSize={self._page_size}"
        while url is not None:
            page = _json(await self._call("GET", url))
            contents = page.get("contents") if isinstance(page, dict) else None
            if not isinstance(contents, list):
                raise ContentApiError("Content API: the list has no contents")
            found.extend(ContentResource.from_json(item) for item in contents)
            meta = page.get("meta") if isinstance(page.get("meta"), dict) else {}
            url = _path_of(meta.get("next_page_url"))
        return found

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        where = f"{method} {url.split('?')[0]}"
        try:
            response = await self._http.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            raise ContentApiError(f"Content API: {where} got no answer ({type(error).__name__})") from None
        if response.status_code >= 300:
            code = _error_code(response)
            raise ContentApiError(
                f"Content API: {where} answered {response.status_code}" + (f" (error {code})" if code else ""),
                response.status_code, code,
            )
        return response


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ContentApiError(f"Content API: the answer to {response.request.method} is not JSON") from None


def _error_code(response: httpx.Response) -> int | None:
    """Twilio's error code (``{"code": 20404, "message": ..., "status": 404}``), when it gave one."""
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, int) else None


def _path_of(url: Any) -> str | None:
    """The next page's path and query: Twilio gives an absolute URL on its own host."""
    if not isinstance(url, str) or not url:
        return None
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
