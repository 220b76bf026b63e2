"""The ``Store`` in Redis, shared by every instance of the service.

The client is built with short timeouts and an explicit, small retry: ``from_url`` retries
nothing by default and the constructor retries for seconds, and neither suits a service that
falls back to memory: a dead Redis must cost milliseconds per message, not seconds. Each call of
``RedisStore.run`` is one Lua script call, however many operations it carries: redis-py's cost
is per command, and a message needs two calls.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Sequence

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from engine.storage.store import (
    Admit,
    Delete,
    Get,
    Incr,
    Op,
    Release,
    Set,
    SetIfAbsent,
    Shortcuts,
)

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
local ops = cjson.decode(ARGV[1])
local out = {}
local k = 1
local admitted = true
for n, op in ipairs(ops) do
  local kind = op[1]
  if kind == 'admit' then
    out[n] = admitted
    if not admitted then return cjson.encode(out) end
  else
    local key = KEYS[k]
    k = k + 1
    if kind == 'get' then
      out[n] = redis.call('GET', key)
    elseif kind == 'set' then
      redis.call('SET', key, op[2], 'PX', op[3])
      out[n] = true
    elseif kind == 'setnx' then
      out[n] = redis.call('SET', key, op[2], 'PX', op[3], 'NX') ~= false
      admitted = admitted and out[n]
    elseif kind == 'incr' then
      out[n] = redis.call('INCR', key)
      if out[n] == 1 and op[2] ~= 0 then redis.call('PEXPIRE', key, op[2]) end
      if op[3] then admitted = admitted and out[n] <= op[3] end
    elseif kind == 'del' then
      redis.call('DEL', key)
      out[n] = true
    elseif kind == 'release' then
      out[n] = redis.call('GET', key) == op[2]
      if out[n] then redis.call('DEL', key) end
    else
      return redis.error_reply('unknown operation ' .. tostring(kind))
    end
  end
end
return cjson.encode(out)
"""
"""Runs a list of operations inside Redis, in order and atomically: one command per ``run``.

The operations travel as one JSON argument (besides their keys) and the results come back as one
JSON text: redis-py packs and parses each argument and each reply element in Python, so two
strings cost less than a few dozen. ``GET`` of a missing key comes back as ``false``."""


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
        self._sha = hashlib.sha1(_BATCH.encode()).hexdigest()

    async def ping(self) -> bool:
        return bool(await self.client.ping())

    async def run(self, ops: Sequence[Op]) -> list[Any]:
        """All of ``ops`` in one script call: one round trip, one command, atomic."""
        if not ops:
            return []
        keys: list[str] = []
        encoded: list[list[Any]] = []
        prefix = self.prefix
        for op in ops:
            if isinstance(op, Admit):
                encoded.append(["admit"])
                continue
            keys.append(prefix + op.key)
            if isinstance(op, Get):
                encoded.append(["get"])
            elif isinstance(op, Set):
                encoded.append(["set", op.value, _ms(op.ttl)])
            elif isinstance(op, SetIfAbsent):
                encoded.append(["setnx", op.value, _ms(op.ttl)])
            elif isinstance(op, Incr):
                ttl = 0 if op.ttl is None else _ms(op.ttl)
                encoded.append(["incr", ttl] if op.limit is None else ["incr", ttl, op.limit])
            elif isinstance(op, Delete):
                encoded.append(["del"])
            elif isinstance(op, Release):
                encoded.append(["release", op.token])
            else:
                raise TypeError(f"not a store operation: {op!r}")
        replies = json.loads(await self._call(keys, json.dumps(encoded, ensure_ascii=False)))
        results: list[Any] = []
        for op, reply in zip(ops, replies or ()):  # ``{}``: cjson's spelling of an empty list
            kind = type(op)
            if kind is Get:
                results.append(None if reply is False else reply)  # false: no such key
            elif kind is Incr:
                results.append(int(reply))
            elif kind is Set or kind is Delete:
                results.append(None)
            else:  # SetIfAbsent, Release, Admit
                results.append(reply)
        if len(results) < len(ops):  # refused by an Admit: the rest did not run
            results += [None] * (len(ops) - len(results))
        return results

    async def _call(self, keys: list[str], operations: str) -> str:
        """``EVALSHA`` of the batch script, loading it first if Redis does not know it (a new or
        restarted Redis). Straight to ``execute_command``: the same command as redis-py's ``Script``
        sends, without its Python wrapping (≈ 10 µs a call)."""
        try:
            reply: str = await self.client.execute_command("EVALSHA", self._sha, len(keys), *keys, operations)
        except NoScriptError:
            self._sha = await self.client.script_load(_BATCH)
            reply = await self.client.execute_command("EVALSHA", self._sha, len(keys), *keys, operations)
        return reply  # the script's JSON text (the client decodes responses)

    async def ttl(self, key: str) -> float | None:
        """Seconds left for ``key`` (None: absent or no expiry)."""
        left = await self.client.pttl(self.prefix + key)
        return None if left < 0 else left / 1000


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
