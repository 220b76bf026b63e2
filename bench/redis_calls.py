"""CPU per Redis call on the webhook's hot path: redis-py's asyncio client against ``RedisLine``.

Each webhook message makes two ``EVALSHA`` calls of the store's batch script (``RedisStore.run``:
its turn taken, its turn let go). This sends the same kind of call, ``CALLERS`` callers at once,
through redis-py set up as the job queues are (``engine.storage.redis_store.connect``) and
through the store's own line (``engine.storage.redis_line.RedisLine``), then whole
``RedisStore.run`` batches as a message takes its turn; prints the process's CPU per call and the
calls per second. Starts its own ``redis-server`` on a free port (nothing on disk), stops it.

    .venv/bin/python bench/redis_calls.py [--calls 20000] [--callers 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.storage.redis_line import RedisLine  # noqa: E402
from engine.storage.redis_store import RedisStore, connect  # noqa: E402
from engine.storage.store import Admit, Get, Incr, SetIfAbsent, Take  # noqa: E402

SCRIPT = ("local v = redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], ARGV[1], 'PX', 60000) "
          "return cjson.encode({v})")
PAYLOAD = '["' + "x" * 450 + '"]'
"""About what a turn's batch carries (a session of a few hundred bytes)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def measure(name: str, calls: int, callers: int, call: Callable[[int], Awaitable[object]]) -> tuple[float, float]:
    """(µs of CPU per call, calls per second), after as many calls to warm up."""
    async def caller(n: int) -> None:
        for _ in range(calls // callers):
            await call(n)

    await asyncio.gather(*(caller(n) for n in range(callers)))
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(caller(n) for n in range(callers)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    done = calls // callers * callers
    return cpu / done * 1e6, done / wall


async def one_round(url: str, calls: int, callers: int) -> dict[str, tuple[float, float]]:
    figures: dict[str, tuple[float, float]] = {}
    client = connect(url)
    sha = await client.script_load(SCRIPT)
    figures["EVALSHA, redis-py"] = await measure(
        "redis-py", calls, callers, lambda n: client.execute_command("EVALSHA", sha, 1, f"b:{n}", PAYLOAD))
    await client.aclose()

    line = RedisLine.from_url(url)
    figures["EVALSHA, RedisLine"] = await measure(
        "line", calls, callers, lambda n: line.call("EVALSHA", sha, 1, f"b:{n}", PAYLOAD))

    store = RedisStore(line, "b:")

    def turn(n: int) -> Awaitable[object]:  # what a message's first call carries, about
        return store.run([SetIfAbsent(f"seen:{n}", "1", 86400), Incr(f"rate:{n}", 60, 20),
                          Admit((Take(f"lock:{n}", "token", 12),)), Get(f"s:{n}")])

    figures["RedisStore.run, RedisLine"] = await measure("store", calls, callers, turn)
    await line.aclose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--callers", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                time.sleep(0.02)
        rounds = [asyncio.run(one_round(f"redis://127.0.0.1:{port}/0", options.calls, options.callers))
                  for _ in range(options.rounds)]
    finally:
        server.kill()
        server.wait(5)
    print(f"{options.callers} callers at once, {options.calls} calls, medians of {options.rounds} rounds")
    for name in rounds[0]:
        cpu = statistics.median(r[name][0] for r in rounds)
        rate = statistics.median(r[name][1] for r in rounds)
        print(f"{name:28} {cpu:6.0f} µs of CPU per call   {rate:7.0f} calls/s")


if __name__ == "__main__":
    main()
