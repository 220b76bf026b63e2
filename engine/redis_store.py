"""The ``Store`` in Redis, shared by every instance of the service.

The client is built with short timeouts and an explicit, small retry: ``from_url`` retries
nothing by default and the constructor retries for seconds, and neither suits a service that
falls back to memory: a dead Redis must cost milliseconds per message, not seconds.
"""

from __future__ import annotations

import asyncio
import secrets
from contextlib import asynccontextmanager
from typing import AsyncIterator

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from engine.store import LockTimeout

CONNECT_TIMEOUT = 0.25
"""Seconds to open a connection (same region: well under a millisecond when all is well)."""
COMMAND_TIMEOUT = 0.5
"""Seconds to wait for an answer."""
RETRIES = 1
"""One quick retry: enough to replace a connection Redis closed (a restart, an idle timeout)."""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def connect(url: str) -> Redis:
    """A client for ``url`` (no connection is opened until the first command)."""
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=COMMAND_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.005), RETRIES),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
    )


class RedisStore:
    """A ``Store`` in Redis; every key gets ``prefix`` so several apps (or tests) share one Redis."""

    LOCK_POLL = (0.002, 0.02)
    """First and longest pause between two tries to take a lock someone else holds."""

    def __init__(self, client: Redis, prefix: str = "rinconcito:") -> None:
        self.client = client
        self.prefix = prefix
        self._release = client.register_script(_RELEASE)

    async def ping(self) -> bool:
        return bool(await self.client.ping())

    async def get(self, key: str) -> str | None:
        return await self.client.get(self.prefix + key)

    async def set(self, key: str, value: str, ttl: float) -> None:
        await self.client.set(self.prefix + key, value, px=_ms(ttl))

    async def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        return bool(await self.client.set(self.prefix + key, value, px=_ms(ttl), nx=True))

    async def incr(self, key: str, ttl: float | None = None) -> int:
        if ttl is None:
            return int(await self.client.incr(self.prefix + key))
        pipe = self.client.pipeline(transaction=False)
        pipe.incr(self.prefix + key)
        pipe.pexpire(self.prefix + key, _ms(ttl), nx=True)
        value, _ = await pipe.execute()
        return int(value)

    async def delete(self, key: str) -> None:
        await self.client.delete(self.prefix + key)

    async def ttl(self, key: str) -> float | None:
        """Seconds left for ``key`` (None: absent or no expiry)."""
        left = await self.client.pttl(self.prefix + key)
        return None if left < 0 else left / 1000

    @asynccontextmanager
    async def lock(self, key: str, ttl: float, wait: float) -> AsyncIterator[None]:
        token = await self.acquire(key, ttl, wait)
        try:
            yield
        finally:
            await self.release(key, token)

    async def acquire(self, key: str, ttl: float, wait: float) -> str:
        """Take the lock on ``key``: the token to release it with, or ``LockTimeout``."""
        token = secrets.token_hex(8)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        pause, longest = self.LOCK_POLL
        while not await self.client.set(self.prefix + key, token, px=_ms(ttl), nx=True):
            if loop.time() + pause > deadline:
                raise LockTimeout(key)
            await asyncio.sleep(pause)
            pause = min(pause * 2, longest)
        return token

    async def release(self, key: str, token: str) -> bool:
        """Let go of the lock; False when it had expired and someone else may hold it now."""
        return bool(await self._release(keys=[self.prefix + key], args=[token]))


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
