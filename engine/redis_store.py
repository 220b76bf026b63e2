"""The ``Store`` in Redis, shared by every instance of the service.

The client is built with short timeouts and an explicit, small retry: ``from_url`` retries
nothing by default and the constructor retries for seconds, and neither suits a service that
falls back to memory: a dead Redis must cost milliseconds per message, not seconds. Each call of
``RedisStore.run`` is one Lua script call, however many operations it carries: redis-py's cost
is per command, and a message needs three calls.
"""

from __future__ import annotations

from typing import Any, Sequence

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from engine.store import Delete, Get, Incr, Op, Release, Set, SetIfAbsent, Shortcuts

CONNECT_TIMEOUT = 0.25
"""Seconds to open a connection (same region: well under a millisecond when all is well)."""
COMMAND_TIMEOUT = 0.5
"""Seconds to wait for an answer."""
RETRIES = 1
"""One quick retry: enough to replace a connection Redis closed (a restart, an idle timeout)."""
MAX_CONNECTIONS = 64
"""Connections per instance; more messages at once wait for one (at most ``POOL_WAIT`` s)."""
POOL_WAIT = 5.0

_BATCH = """
local out = {}
local a = 1
for n, key in ipairs(KEYS) do
  local op = ARGV[a]
  a = a + 1
  if op == 'get' then
    out[n] = redis.call('GET', key)
  elseif op == 'set' then
    redis.call('SET', key, ARGV[a], 'PX', ARGV[a + 1])
    a = a + 2
    out[n] = 1
  elseif op == 'setnx' then
    out[n] = redis.call('SET', key, ARGV[a], 'PX', ARGV[a + 1], 'NX') and 1 or 0
    a = a + 2
  elseif op == 'incr' then
    out[n] = redis.call('INCR', key)
    if out[n] == 1 and ARGV[a] ~= '0' then redis.call('PEXPIRE', key, ARGV[a]) end
    a = a + 1
  elseif op == 'del' then
    redis.call('DEL', key)
    out[n] = 1
  elseif op == 'release' then
    if redis.call('GET', key) == ARGV[a] then out[n] = redis.call('DEL', key) else out[n] = 0 end
    a = a + 1
  else
    return redis.error_reply('unknown operation ' .. tostring(op))
  end
end
return out
"""
"""Runs a list of operations inside Redis, in order and atomically: one command per ``run``."""


def connect(url: str, max_connections: int = MAX_CONNECTIONS) -> Redis:
    """A client for ``url`` (no connection is opened until the first command).

    The pool waits for a free connection (``BlockingConnectionPool``): the default pool raises
    "Too many connections" past its limit, which under a burst of messages would look like a
    Redis outage and send the service to its memory fallback.
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=POOL_WAIT,
        decode_responses=True,
        socket_timeout=COMMAND_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.005), RETRIES),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
    )
    return Redis.from_pool(pool)


class RedisStore(Shortcuts):
    """A ``Store`` in Redis; every key gets ``prefix`` so several apps (or tests) share one Redis."""

    def __init__(self, client: Redis, prefix: str = "rinconcito:") -> None:
        self.client = client
        self.prefix = prefix
        self._batch = client.register_script(_BATCH)

    async def ping(self) -> bool:
        return bool(await self.client.ping())

    async def run(self, ops: Sequence[Op]) -> list[Any]:
        """All of ``ops`` in one script call: one round trip, one command, atomic."""
        keys: list[str] = []
        args: list[str | int] = []
        for op in ops:
            keys.append(self.prefix + op.key)
            if isinstance(op, Get):
                args.append("get")
            elif isinstance(op, Set):
                args += ("set", op.value, _ms(op.ttl))
            elif isinstance(op, SetIfAbsent):
                args += ("setnx", op.value, _ms(op.ttl))
            elif isinstance(op, Incr):
                args += ("incr", 0 if op.ttl is None else _ms(op.ttl))
            elif isinstance(op, Delete):
                args.append("del")
            elif isinstance(op, Release):
                args += ("release", op.token)
            else:
                raise TypeError(f"not a store operation: {op!r}")
        replies = await self._batch(keys=keys, args=args) if keys else []
        results: list[Any] = []
        for op, reply in zip(ops, replies):
            if isinstance(op, Get):
                results.append(reply)
            elif isinstance(op, (SetIfAbsent, Release)):
                results.append(bool(reply))
            elif isinstance(op, Incr):
                results.append(int(reply))
            else:
                results.append(None)
        return results

    async def ttl(self, key: str) -> float | None:
        """Seconds left for ``key`` (None: absent or no expiry)."""
        left = await self.client.pttl(self.prefix + key)
        return None if left < 0 else left / 1000


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
