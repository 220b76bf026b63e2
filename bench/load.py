"""Load test of the webhook service against its floor, over loopback, one worker each.

Simulated customers run whole order conversations through Twilio-signed webhooks against the
real server (``python -m engine.http.serve``) with Redis, 32 at a time over 32 keep-alive connections;
then the same load hits the floor (``bench/floor.py``: parse the form, one Redis GET and one SET,
TwiML). Prints messages per second, p50/p99 latency, the ratio to the floor, and the Redis memory
of a typical session (``MEMORY USAGE``, mid-order at the summary step).

    .venv/bin/python bench/load.py [--seconds 10] [--connections 32] [--rounds 1]

With ``--rounds 3`` the two targets are measured by turns, three times each, and the medians are
compared: on a machine shared with other work, a burst of it then cannot favour one target.
Starts its own ``redis-server`` on a free port (nothing on disk) and stops everything it started.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import redis
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-auth-token"
PUBLIC_URL = "https://rinconcito.example.test"
OPEN = datetime(2026, 11, 27, 14, 0, tzinfo=ZoneInfo("America/Mexico_City"))  # a Friday, open
CONVERSATION = [
    "hola", "3 pastor", "harina", "sin cebolla", "2 horchatas y una coca", "carrito", "listo", "2", "Ana López",
    "Calle Durango 12, Roma Norte", "55 1234 5678", "tarjeta", "sí",
]
CONFIRMED = "Tu pedido es el".encode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(port: int, process: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"process on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"nothing answered on port {port}")


class Connection:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost less than the server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, signature: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
            f"X-Twilio-Signature: {signature}\r\n\r\n".encode() + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    orders: int = 0


async def customer_loop(
    port: int, worker: int, stop_at: float, measure_from: float, tally: Tally, round_: int = 0
) -> None:
    validator = RequestValidator(TOKEN)
    connection = Connection(port)
    conversation = 0
    try:
        while time.perf_counter() < stop_at:
            conversation += 1
            # Each round has customers (and message ids) of its own: nobody runs into a rate limit.
            sender = f"whatsapp:+52155{round_ or ''}{worker:03d}{conversation:05d}"
            for turn, text in enumerate(CONVERSATION):
                fields = {
                    "MessageSid": f"SM{round_ or ''}{worker:04d}{conversation:08d}{turn:02d}", "From": sender, "Body": text,
                    "ProfileName": "Ana", "NumMedia": "0", "To": "whatsapp:+14155238886",
                    "WaId": sender[10:], "AccountSid": "AC" + "0" * 32,
                }
                body = urlencode(fields).encode()
                signature = validator.compute_signature(PUBLIC_URL + "/webhook", fields)
                started = time.perf_counter()
                status, answer = await connection.post("/webhook", body, signature)
                finished = time.perf_counter()
                if started >= measure_from and finished <= stop_at:
                    tally.latencies.append(finished - started)
                    if status != 200:
                        tally.errors += 1
                    elif turn == len(CONVERSATION) - 1 and CONFIRMED in answer:
                        tally.orders += 1
                if finished > stop_at:
                    return
    finally:
        connection.close()


async def drive(port: int, connections: int, seconds: float, warmup: float, round_: int = 0) -> tuple[Tally, float]:
    tally = Tally()
    begin = time.perf_counter()
    measure_from, stop_at = begin + warmup, begin + warmup + seconds
    await asyncio.gather(*(customer_loop(port, n, stop_at, measure_from, tally, round_) for n in range(connections)))
    return tally, seconds


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Figures:
    rate: float
    p50: float
    p99: float
    cpu: float
    """Server CPU (user + system) per message, in µs."""


def report(name: str, tally: Tally, seconds: float, cpu: float) -> Figures:
    rate = len(tally.latencies) / seconds
    ordered = sorted(tally.latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    print(f"{name:<9} {rate:8.0f} msg/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   "
          f"errors {tally.errors}   orders {tally.orders}   server CPU ≈ {cpu:.0f} µs per message")
    return Figures(rate, p50, p99, cpu)


def typical_session_bytes(port: int, redis_port: int, prefix: str) -> tuple[int, int]:
    """Redis memory and JSON size of one session at the order summary (the fullest it gets)."""

    async def talk() -> None:
        validator = RequestValidator(TOKEN)
        connection = Connection(port)
        for turn, text in enumerate(CONVERSATION[:-1]):
            fields = {"MessageSid": f"SMtypical{turn:02d}", "From": "whatsapp:+5215599990000", "Body": text}
            await connection.post("/webhook", urlencode(fields).encode(),
                                  validator.compute_signature(PUBLIC_URL + "/webhook", fields))
        connection.close()

    asyncio.run(talk())
    client = redis.Redis(port=redis_port)
    key = f"{prefix}s:+525599990000"
    return int(client.memory_usage(key, samples=0)), len(client.get(key))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per target")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1, help="measure each target this many times, by turns")
    arguments = parser.parse_args()

    started: list[subprocess.Popen] = []
    scratch = Path(tempfile.mkdtemp(prefix="rinconcito-bench-"))
    try:
        redis_port = free_port()
        started.append(subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(scratch)],
            stdout=subprocess.DEVNULL))
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        for _ in range(200):
            try:
                redis.Redis(port=redis_port).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.02)

        clock = scratch / "clock"
        clock.write_text(str(OPEN.timestamp() - time.time()))
        prefix = "bench:"
        service_port = free_port()
        environment = {
            **os.environ, "PYTHONPATH": str(ROOT), "APP_ENV": "test", "TEST_CLOCK_FILE": str(clock),
            "REDIS_URL": redis_url, "REDIS_KEY_PREFIX": prefix, "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_URL": PUBLIC_URL, "FLOWS_DIR": str(ROOT / "flows"),
            "RATE_LIMIT_GLOBAL": "1000000000", "LOG_LEVEL": "INFO",
        }
        service = subprocess.Popen(
            [sys.executable, "-m", "engine.http.serve", "--port", str(service_port)],
            cwd=scratch, env=environment, stdout=subprocess.DEVNULL, stderr=open(scratch / "service.log", "w"))
        started.append(service)
        wait_until_up(service_port, service)

        floor_port = free_port()
        floor = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "bench"), "floor:app", "--port",
             str(floor_port), "--no-access-log", "--log-level", "warning"],
            cwd=scratch, env={**os.environ, "REDIS_URL": redis_url})
        started.append(floor)
        wait_until_up(floor_port, floor)

        rounds = max(1, arguments.rounds)
        print(f"{arguments.connections} connections, {arguments.seconds:.0f} s measured after "
              f"{arguments.warmup:.0f} s warm-up, one worker each, loopback, {os.cpu_count()} CPUs"
              + (f", {rounds} rounds by turns" if rounds > 1 else ""))
        figures: dict[str, list[Figures]] = {"service": [], "floor": []}
        for round_ in range(rounds):
            for name, port, process in (("service", service_port, service), ("floor", floor_port, floor)):
                before = cpu_seconds(process.pid)
                tally, seconds = asyncio.run(
                    drive(port, arguments.connections, arguments.seconds, arguments.warmup, round_))
                cpu = cpu_seconds(process.pid) - before
                total = len(tally.latencies) * (1 + arguments.warmup / seconds)  # roughly, warm-up included
                figures[name].append(report(name, tally, seconds, cpu / total * 1e6))
        if rounds > 1:
            for name, measured in figures.items():
                print(f"{name:<9} {statistics.median(f.rate for f in measured):8.0f} msg/s   "
                      f"p50 {statistics.median(f.p50 for f in measured):6.2f} ms   "
                      f"p99 {statistics.median(f.p99 for f in measured):6.2f} ms   "
                      f"server CPU ≈ {statistics.median(f.cpu for f in measured):.0f} µs per message   (medians)")
        service_rate = statistics.median(f.rate for f in figures["service"])
        floor_rate = statistics.median(f.rate for f in figures["floor"])
        print(f"service / floor: {service_rate / floor_rate:.2f}")
        memory, size = typical_session_bytes(service_port, redis_port, prefix)
        print(f"typical session (order summary): {size} bytes of JSON, MEMORY USAGE {memory} bytes")
        return 0
    finally:
        for process in reversed(started):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
