"""The outbox's ``JobQueue`` in Redis: it survives restarts and is shared by every instance.

Three kinds of keys under the prefix and the queue's ``name`` (``outbox`` by default):
``<name>:jobs`` (a hash, id -> payload), ``<name>:due`` (a sorted set, id scored by the epoch
second it is due) and ``<name>:done:<id>`` (a mark with an expiry, so an event finished days ago
is still refused). Adding and claiming are Lua scripts:
"is it new?" and "take what is due" must each be one step, or two instances could both add or
both take the same job.

The client is the service's own (``engine.redis_store.connect``: short timeouts, responses
decoded), so a dead Redis fails fast and ``FallbackJobQueue`` moves on to memory.
"""

from __future__ import annotations

from redis.asyncio import Redis

from engine.storage.jobqueue import Job

_ADD = """
if redis.call('exists', KEYS[3]) == 1 or redis.call('hexists', KEYS[2], ARGV[1]) == 1 then
  return 0
end
redis.call('hset', KEYS[2], ARGV[1], ARGV[2])
redis.call('zadd', KEYS[1], ARGV[3], ARGV[1])
return 1
"""

_CLAIM = """
local ids = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local claimed = {}
for _, id in ipairs(ids) do
  local payload = redis.call('hget', KEYS[2], id)
  if payload then
    redis.call('zadd', KEYS[1], ARGV[2], id)
    table.insert(claimed, id)
    table.insert(claimed, payload)
  else
    redis.call('zrem', KEYS[1], id)
  end
end
return claimed
"""

_RESCHEDULE = """
if redis.call('hexists', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('hset', KEYS[2], ARGV[1], ARGV[2])
redis.call('zadd', KEYS[1], ARGV[3], ARGV[1])
return 1
"""

_WAKE = """
local ids = redis.call('zrangebyscore', KEYS[1], '(' .. ARGV[1], '+inf')
for _, id in ipairs(ids) do redis.call('zadd', KEYS[1], ARGV[1], id) end
return #ids
"""


class RedisJobQueue:
    def __init__(self, client: Redis, prefix: str = "rinconcito:", name: str = "outbox") -> None:
        self.client = client
        self._due = f"{prefix}{name}:due"
        self._jobs = f"{prefix}{name}:jobs"
        self._done = f"{prefix}{name}:done:"
        self._add = client.register_script(_ADD)
        self._claim = client.register_script(_CLAIM)
        self._reschedule = client.register_script(_RESCHEDULE)
        self._wake = client.register_script(_WAKE)

    async def ping(self) -> bool:
        return bool(await self.client.ping())

    async def add(self, id: str, payload: str, due: float) -> bool:
        return bool(await self._add(keys=[self._due, self._jobs, self._done + id], args=[id, payload, repr(due)]))

    async def claim(self, now: float, lease: float, limit: int) -> list[Job]:
        flat = await self._claim(keys=[self._due, self._jobs], args=[repr(now), repr(now + lease), limit])
        return [Job(_text(flat[i]), _text(flat[i + 1])) for i in range(0, len(flat), 2)]

    async def reschedule(self, id: str, payload: str, due: float) -> None:
        await self._reschedule(keys=[self._due, self._jobs], args=[id, payload, repr(due)])

    async def finish(self, id: str, keep: float) -> None:
        # One transaction: a job is never both gone and unmarked (it could then be added again).
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self._done + id, "1", px=max(1, int(keep * 1000)))
        pipe.hdel(self._jobs, id)
        pipe.zrem(self._due, id)
        await pipe.execute()

    async def wake(self, now: float) -> None:
        await self._wake(keys=[self._due], args=[repr(now)])

    async def pending(self) -> int:
        return int(await self.client.hlen(self._jobs))


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
