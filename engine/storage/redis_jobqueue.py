"""The outbox's ``JobQueue`` in Redis: it survives restarts and is shared by every instance.

Keys under the prefix and the queue's ``name`` (``outbox`` by default): ``<name>:jobs`` (a hash,
id -> payload), ``<name>:due`` (a sorted set, id scored by the epoch second it is due),
``<name>:retrying`` (a set: the jobs waiting after a transient failure), ``<name>:done:<id>`` (a
mark with an expiry, so an event finished days ago is still refused), ``<name>:epoch`` (a
random mark set once: a Redis that lost its data has none, or a new one), and for the jobs of a
chain (``Job.chain``) ``<name>:chains`` (a hash, id -> chain), ``<name>:chain:<chain>`` (a sorted
set of the chain's waiting ids, scored in the order they were added) and ``<name>:added`` (the
counter that gives that order). The queue's keys have
no expiry, so a Key Value whose policy evicts only keys with one (``volatile-lru``) never evicts
them. Adding and claiming are Lua scripts:
"is it new?" and "take what is due" must each be one step, or two instances could both add or
both take the same job.

The client is the service's own (``engine.redis_store.connect``: short timeouts, responses
decoded), so a dead Redis fails fast and ``FallbackJobQueue`` moves on to memory.
"""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from engine.model.jobs import Job

# KEYS: due, jobs, done:<id>, chains, chain:<chain>, added. ARGV: id, payload, due, chain.
_ADD = """
if redis.call('exists', KEYS[3]) == 1 or redis.call('hexists', KEYS[2], ARGV[1]) == 1 then
  return 0
end
redis.call('hset', KEYS[2], ARGV[1], ARGV[2])
redis.call('zadd', KEYS[1], ARGV[3], ARGV[1])
if ARGV[4] ~= '' then
  redis.call('hset', KEYS[4], ARGV[1], ARGV[4])
  redis.call('zadd', KEYS[5], redis.call('incr', KEYS[6]), ARGV[1])
end
return 1
"""

# KEYS: due, jobs, retrying, chains. ARGV: now, hidden until, limit, the chains' key prefix.
# Due jobs are read a page at a time, so jobs that wait behind their chain do not use up the
# limit: a job of a chain goes only while it is the first of its chain still waiting.
_CLAIM = """
local claimed = {}
local count = 0
local limit = tonumber(ARGV[3])
local offset = 0
while count < limit do
  local ids = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', offset, 100)
  if #ids == 0 then break end
  offset = offset + #ids
  local taken = {}
  for _, id in ipairs(ids) do
    if count >= limit then break end
    local payload = redis.call('hget', KEYS[2], id)
    if not payload then
      table.insert(taken, id)
    else
      local chain = redis.call('hget', KEYS[4], id)
      local first = chain and redis.call('zrange', ARGV[4] .. chain, 0, 0)[1]
      if not chain or first == id then
        table.insert(taken, id)
        table.insert(claimed, id)
        table.insert(claimed, payload)
        table.insert(claimed, chain or '')
        count = count + 1
      end
    end
  end
  for _, id in ipairs(taken) do  -- each leaves the range read (hidden until later, or gone)
    if redis.call('hexists', KEYS[2], id) == 1 then
      redis.call('zadd', KEYS[1], ARGV[2], id)
      redis.call('srem', KEYS[3], id)
    else
      redis.call('zrem', KEYS[1], id)
    end
  end
  offset = offset - #taken
end
return claimed
"""

# KEYS: done:<id>, jobs, due, retrying, chains. ARGV: id, keep (ms), the chains' key prefix.
# One step: a job is never both gone and unmarked (it could then be added again), and never gone
# while still first of its chain (the chain would wait for it for ever).
_FINISH = """
redis.call('set', KEYS[1], '1', 'PX', ARGV[2])
redis.call('hdel', KEYS[2], ARGV[1])
redis.call('zrem', KEYS[3], ARGV[1])
redis.call('srem', KEYS[4], ARGV[1])
local chain = redis.call('hget', KEYS[5], ARGV[1])
if chain then
  redis.call('hdel', KEYS[5], ARGV[1])
  redis.call('zrem', ARGV[3] .. chain, ARGV[1])
end
return 1
"""

_RESCHEDULE = """
if redis.call('hexists', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('hset', KEYS[2], ARGV[1], ARGV[2])
redis.call('zadd', KEYS[1], ARGV[3], ARGV[1])
if ARGV[4] == '1' then redis.call('sadd', KEYS[3], ARGV[1]) else redis.call('srem', KEYS[3], ARGV[1]) end
return 1
"""

_HURRY = """
local later = {}
for _, id in ipairs(redis.call('smembers', KEYS[2])) do
  local due = redis.call('zscore', KEYS[1], id)
  if not due then
    redis.call('srem', KEYS[2], id)
  elseif tonumber(due) > tonumber(ARGV[1]) then
    table.insert(later, {tonumber(due), id})
  end
end
table.sort(later, function(a, b) return a[1] < b[1] end)
local limit = tonumber(ARGV[2])
local hurried = {}
for n, pair in ipairs(later) do
  if limit >= 0 and n > limit then break end
  redis.call('zadd', KEYS[1], ARGV[1], pair[2])
  table.insert(hurried, pair[2])
end
return hurried
"""

_EPOCH = """
redis.call('set', KEYS[1], ARGV[1], 'NX')
return redis.call('get', KEYS[1])
"""

_SURVEY = """
redis.call('set', KEYS[1], ARGV[1], 'NX')
local out = {redis.call('get', KEYS[1])}
for n = 2, #ARGV do
  if redis.call('hexists', KEYS[2], ARGV[n]) == 1 then table.insert(out, ARGV[n]) end
end
return out
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
        self._retrying = f"{prefix}{name}:retrying"
        self._epoch = f"{prefix}{name}:epoch"
        self._chains = f"{prefix}{name}:chains"
        self._chain = f"{prefix}{name}:chain:"
        self._added = f"{prefix}{name}:added"
        self._add = client.register_script(_ADD)
        self._claim = client.register_script(_CLAIM)
        self._finish = client.register_script(_FINISH)
        self._reschedule = client.register_script(_RESCHEDULE)
        self._wake = client.register_script(_WAKE)
        self._hurry = client.register_script(_HURRY)
        self._set_epoch = client.register_script(_EPOCH)
        self._survey = client.register_script(_SURVEY)

    async def ping(self) -> bool:
        return bool(await self.client.ping())

    async def add(self, id: str, payload: str, due: float, chain: str = "") -> bool:
        keys = [self._due, self._jobs, self._done + id, self._chains, self._chain + chain, self._added]
        return bool(await self._add(keys=keys, args=[id, payload, repr(due), chain]))

    async def claim(self, now: float, lease: float, limit: int) -> list[Job]:
        flat = await self._claim(keys=[self._due, self._jobs, self._retrying, self._chains],
                                 args=[repr(now), repr(now + lease), limit, self._chain])
        return [Job(_text(flat[i]), _text(flat[i + 1]), _text(flat[i + 2])) for i in range(0, len(flat), 3)]

    async def reschedule(self, id: str, payload: str, due: float, retrying: bool = False) -> None:
        await self._reschedule(keys=[self._due, self._jobs, self._retrying],
                               args=[id, payload, repr(due), "1" if retrying else "0"])

    async def finish(self, id: str, keep: float, sid: str | None = None) -> None:
        await self._finish(keys=[self._done + id, self._jobs, self._due, self._retrying, self._chains],
                           args=[id, max(1, int(keep * 1000)), self._chain])

    async def hurry(self, now: float, limit: int | None = None) -> list[str]:
        ids = await self._hurry(keys=[self._due, self._retrying], args=[repr(now), -1 if limit is None else limit])
        return [_text(id) for id in ids]

    async def epoch(self) -> str:
        return _text(await self._set_epoch(keys=[self._epoch], args=[uuid.uuid4().hex]))

    async def survey(self, ids: list[str]) -> tuple[str, set[str]]:
        out = await self._survey(keys=[self._epoch, self._jobs], args=[uuid.uuid4().hex, *ids])
        return _text(out[0]), {_text(id) for id in out[1:]}

    async def wake(self, now: float) -> None:
        await self._wake(keys=[self._due], args=[repr(now)])

    async def pending(self) -> int:
        return int(await self.client.hlen(self._jobs))


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
