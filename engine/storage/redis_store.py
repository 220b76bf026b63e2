"""The ``Store`` in Redis, shared by every instance of the service.

Its commands go on a ``RedisLine`` (``engine.storage.redis_line``): one connection shared by all
callers, commands pipelined, short timeouts, nothing sent twice that may have run. Each call of
``RedisStore.run`` is one Lua script call, however many operations it carries, and a message
needs two. The job queues keep redis-py (``connect`` below: they use its pipelines), with the
same timeouts.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Sequence

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from engine.storage.redis_line import COMMAND_TIMEOUT, CONNECT_TIMEOUT, RedisLine, ReplyError
from engine.storage.store import (
    Absent,
    Admit,
    Delete,
    Get,
    Incr,
    Op,
    Release,
    Set,
    SetIfAbsent,
    Shortcuts,
    Take,
)

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
local function apply(op, key)
  local kind = op[1]
  if kind == 'get' then
    return redis.call('GET', key), true
  elseif kind == 'absent' then
    local value = redis.call('GET', key)
    return value, value == false
  elseif kind == 'set' then
    redis.call('SET', key, op[2], 'PX', op[3])
    return true, true
  elseif kind == 'setnx' then
    local stored = redis.call('SET', key, op[2], 'PX', op[3], 'NX') ~= false
    return stored, stored
  elseif kind == 'take' then
    local holder = redis.call('GET', key)
    if holder ~= false and holder ~= op[2] then return false, false end
    redis.call('SET', key, op[2], 'PX', op[3])
    return true, true
  elseif kind == 'incr' then
    local count = redis.call('INCR', key)
    if count == 1 and op[2] ~= 0 then redis.call('PEXPIRE', key, op[2]) end
    return count, not op[3] or count <= op[3]
  elseif kind == 'del' then
    redis.call('DEL', key)
    return true, true
  elseif kind == 'release' then
    local held = redis.call('GET', key) == op[2]
    if held then redis.call('DEL', key) end
    return held, true
  end
  error('unknown operation ' .. tostring(kind))
end
for n, op in ipairs(ops) do
  if op[1] == 'admit' then
    out[n] = admitted
    local otherwise = op[2] or {}
    if not admitted then
      for _, other in ipairs(otherwise) do
        apply(other, KEYS[k])
        k = k + 1
      end
      return cjson.encode(out)
    end
    k = k + #otherwise
  else
    local result, admits = apply(op, KEYS[k])
    k = k + 1
    out[n] = result
    admitted = admitted and admits
  end
end
return cjson.encode(out)
"""
"""Runs a list of operations inside Redis, in order and atomically: one command per ``run``.

The operations travel as one JSON argument (besides their keys, in the order the operations
use them, an ``Admit``'s ``otherwise`` included) and the results come back as one JSON text:
a client packs and parses each argument and each reply element in Python, so two strings cost
less than a few dozen. ``GET`` of a missing key comes back as ``false``."""


def connect(url: str, max_connections: int = MAX_CONNECTIONS) -> Redis:
    """A redis-py client for ``url``, for the job queues (no connection is opened until the first
    command). ``from_url`` retries nothing by default and the constructor retries for seconds,
    and neither suits a service that falls back to memory: one quick retry here.

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

    def __init__(self, line: RedisLine, prefix: str = "rinconcito:") -> None:
        self.line = line
        self.prefix = prefix
        self._sha = hashlib.sha1(_BATCH.encode()).hexdigest()

    async def ping(self) -> bool:
        return await self.line.call("PING") == "PONG"

    async def aclose(self) -> None:
        await self.line.aclose()

    async def run(self, ops: Sequence[Op]) -> list[Any]:
        """All of ``ops`` in one script call: one round trip, one command, atomic."""
        if not ops:
            return []
        keys: list[str] = []
        encoded: list[list[Any]] = []
        for op in ops:
            if isinstance(op, Admit):
                encoded.append(["admit", [self._encode(other, keys) for other in op.otherwise]]
                               if op.otherwise else ["admit"])
            else:
                encoded.append(self._encode(op, keys))
        replies = json.loads(await self._call(keys, json.dumps(encoded, ensure_ascii=False)))
        results: list[Any] = []
        for op, reply in zip(ops, replies or ()):  # ``{}``: cjson's spelling of an empty list
            kind = type(op)
            if kind is Get or kind is Absent:
                results.append(None if reply is False else reply)  # false: no such key
            elif kind is Incr:
                results.append(int(reply))
            elif kind is Set or kind is Delete:
                results.append(None)
            else:  # SetIfAbsent, Take, Release, Admit
                results.append(reply)
        if len(results) < len(ops):  # refused by an Admit: the rest did not run
            results += [None] * (len(ops) - len(results))
        return results

    def _encode(self, op: Op, keys: list[str]) -> list[Any]:
        """``op`` as the script reads it; its key goes on ``keys``."""
        if isinstance(op, Admit):
            raise TypeError("an Admit inside another Admit's otherwise")
        keys.append(self.prefix + op.key)
        if isinstance(op, Get):
            return ["get"]
        if isinstance(op, Absent):
            return ["absent"]
        if isinstance(op, Set):
            return ["set", op.value, _ms(op.ttl)]
        if isinstance(op, SetIfAbsent):
            return ["setnx", op.value, _ms(op.ttl)]
        if isinstance(op, Take):
            return ["take", op.token, _ms(op.ttl)]
        if isinstance(op, Incr):
            ttl = 0 if op.ttl is None else _ms(op.ttl)
            return ["incr", ttl] if op.limit is None else ["incr", ttl, op.limit]
        if isinstance(op, Delete):
            return ["del"]
        if isinstance(op, Release):
            return ["release", op.token]
        raise TypeError(f"not a store operation: {op!r}")

    async def _call(self, keys: list[str], operations: str) -> str:
        """``EVALSHA`` of the batch script, loading it first if Redis does not know it (a new or
        restarted Redis: a script it did not know did not run, so sending it again is safe)."""
        try:
            reply = await self.line.call("EVALSHA", self._sha, len(keys), *keys, operations)
        except ReplyError as error:
            if not str(error).startswith("NOSCRIPT"):
                raise
            loaded = await self.line.call("SCRIPT", "LOAD", _BATCH)
            if not isinstance(loaded, str):
                raise ReplyError(f"SCRIPT LOAD answered {loaded!r}") from error
            self._sha = loaded
            reply = await self.line.call("EVALSHA", self._sha, len(keys), *keys, operations)
        if not isinstance(reply, str):
            raise ReplyError(f"the batch script answered {reply!r}")
        return reply  # the script's JSON text

    async def ttl(self, key: str) -> float | None:
        """Seconds left for ``key`` (None: absent or no expiry)."""
        left = await self.line.call("PTTL", self.prefix + key)
        if not isinstance(left, int):
            raise ReplyError(f"PTTL answered {left!r}")
        return None if left < 0 else left / 1000


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
