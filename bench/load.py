"""Load test of the webhook service against its floor, over loopback, one worker each.

Simulated customers run whole order conversations through Twilio-signed webhooks against the
real server (``python -m engine.http.serve``) with Redis, 32 at a time over 32 keep-alive connections;
then the same load hits the floor (``bench/floor.py``: parse the form, one Redis GET and one SET,
TwiML). Prints messages per second, p50/p99 latency, server CPU per message, the ratio to the
floor, and the Redis memory of a typical session (``MEMORY USAGE``, mid-order at the summary step).
Then, each measured apart from the load:

- cold start: the real ``rinconcito serve`` started afresh (``--cold-starts`` times), ``/ready``
  polled; when it first answers 200, the process's CPU time (user + system) and resident memory
  (``VmRSS``) read from ``/proc``; with the flows recorded as checked (as after Render's build),
  then checked at each start; and ``-X importtime`` of the server (total, and the costliest
  imports);
- ``--soak 100000``: that many messages (whole orders) through one fresh server, its resident
  memory at the start, every 10,000 messages and at the end;
- ``--instances 2``: two servers on the one Redis, the connections shared between them, each
  instance's figure and the sum (after the one-instance figure of the same run).

    .venv/bin/python bench/load.py [--seconds 10] [--connections 32] [--rounds 1]
                                   [--cold-starts 3] [--soak 100000] [--instances 2]
    .venv/bin/python bench/load.py --rounds 0 --cold-starts 5   # the cold start alone

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import redis
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-auth-token"
PUBLIC_URL = "https://rinconcito.example.test"
ALWAYS_OPEN = """\
timezone: America/Mexico_City
last_orders_minutes: 0
weekly: {monday: "00:00-24:00", tuesday: "00:00-24:00", wednesday: "00:00-24:00", thursday: "00:00-24:00",
         friday: "00:00-24:00", saturday: "00:00-24:00", sunday: "00:00-24:00"}
"""
CONVERSATION = [
    "hola", "3 pastor", "harina", "sin cebolla", "2 horchatas y una coca", "carrito", "listo", "2", "Ana López",
    "Calle Durango 12, Roma Norte", "55 1234 5678", "tarjeta", "sí",
]
CONFIRMED = "Tu pedido es el".encode()


def always_open(source: Path, target: Path) -> Path:
    """A copy of the flows in ``source`` whose restaurant never closes: the servers run on the real
    clock (as in production) and every conversation ends in an order at any hour."""
    shutil.copytree(source, target)
    (target / "hours.yaml").write_text(ALWAYS_OPEN)
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(port: int, process: subprocess.Popen, timeout: float = 20, path: str = "/health",
                  pause: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"process on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(request)
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(pause)
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


@dataclass
class Budget:
    """A bounded run: ``left`` messages still to send, shared by every customer loop."""

    left: int
    sent: int = 0

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        self.sent += 1
        return True


async def customer_loop(
    port: int, worker: int, stop_at: float, measure_from: float, tally: Tally, round_: int = 0,
    budget: Budget | None = None,
) -> None:
    validator = RequestValidator(TOKEN)
    connection = Connection(port)
    conversation = 0
    try:
        while time.perf_counter() < stop_at and (budget is None or budget.left > 0):
            conversation += 1
            # Each round has customers (and message ids) of its own: nobody runs into a rate limit.
            sender = f"whatsapp:+52155{round_ or ''}{worker:03d}{conversation:05d}"
            for turn, text in enumerate(CONVERSATION):
                if budget is not None and not budget.take():
                    return
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


async def drive_many(ports: list[int], connections: int, seconds: float, warmup: float, round_: int) -> list[Tally]:
    """The connections shared between several servers (``ports``), all at once: one tally each."""
    tallies = [Tally() for _ in ports]
    begin = time.perf_counter()
    measure_from, stop_at = begin + warmup, begin + warmup + seconds
    await asyncio.gather(*(
        customer_loop(ports[n % len(ports)], n, stop_at, measure_from, tallies[n % len(ports)], round_)
        for n in range(connections)))
    return tallies


async def drive_count(port: int, connections: int, total: int, round_: int, every: int,
                      on_step: Callable[[int], None]) -> Tally:
    """Exactly ``total`` messages (whole orders, the last one cut short), ``on_step(sent)`` called
    after each ``every`` of them."""
    tally = Tally()
    budget = Budget(total)

    async def watch() -> None:
        step = every
        while budget.left > 0:
            if budget.sent >= step:
                on_step(step)
                step += every
            await asyncio.sleep(0.05)

    watcher = asyncio.ensure_future(watch())
    forever = time.perf_counter() + 10 ** 9
    await asyncio.gather(*(customer_loop(port, n, forever, 0.0, tally, round_, budget) for n in range(connections)))
    await watcher
    return tally


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resident_kb(pid: int) -> int:
    """``VmRSS`` of a process in KiB (Linux ``/proc``; 0 elsewhere)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


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


def start_service(environment: dict[str, str], scratch: Path, port: int, name: str = "service",
                  command: list[str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        (command or [sys.executable, "-m", "engine.http.serve"]) + ["--port", str(port)],
        cwd=scratch, env=environment, stdout=subprocess.DEVNULL, stderr=open(scratch / f"{name}.log", "a"))


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cold_starts(environment: dict[str, str], scratch: Path, runs: int) -> None:
    """The real ``rinconcito serve``, started ``runs`` times: CPU and RSS when ``/ready`` first answers.
    Twice: with the flows recorded as checked (as after Render's build, which runs ``rinconcito
    validate``), then with no record (each start checks the flows in full)."""
    command = [str(Path(sys.executable).with_name("rinconcito")), "serve"]
    if not Path(command[0]).exists():
        command = [sys.executable, "-m", "engine", "serve"]
    flows = Path(environment["FLOWS_DIR"])
    subprocess.run(command[:-1] + ["validate", str(flows)], cwd=scratch, env=environment,
                   stdout=subprocess.DEVNULL, check=True)
    for recorded in (True, False):
        cpus, rss, walls = [], [], []
        for _ in range(runs):
            if not recorded:
                (flows / ".rinconcito-checked").unlink(missing_ok=True)
            port = free_port()
            began = time.perf_counter()
            process = start_service(environment, scratch, port, "cold", command)
            try:
                wait_until_up(port, process, path="/ready", pause=0.01)
                walls.append(time.perf_counter() - began)
                cpus.append(cpu_seconds(process.pid))
                rss.append(resident_kb(process.pid) / 1024)
            finally:
                stop(process)
        print(f"cold start of `rinconcito serve` to /ready ({runs} runs, medians), "
              f"{'flows recorded as checked' if recorded else 'flows checked at start'}: "
              f"CPU {statistics.median(cpus):.2f} s (best {min(cpus):.2f}), RSS {statistics.median(rss):.1f} MB, "
              f"wall {statistics.median(walls):.2f} s")


def import_time(environment: dict[str, str], scratch: Path, top: int = 12) -> None:
    """``python -X importtime -c 'import engine.http.serve'``: the total and the costliest packages."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import engine.http.serve"],
                          cwd=scratch, env=environment, capture_output=True, text=True, check=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:"):].split("|")
        rows.append((int(cumulative), len(name) - len(name.lstrip()), name.strip()))
    total = sum(c for c, depth, _ in rows if depth == 1)
    # The costliest third-party packages and engine modules, each counted where it is first imported.
    firsts: dict[str, int] = {}
    for cumulative, _, name in rows:
        root = name if name.startswith("engine") else name.split(".")[0]
        if root == name or not name.startswith("engine"):
            firsts[root] = max(firsts.get(root, 0), cumulative)
    costly = sorted(((c, n) for n, c in firsts.items() if not n.startswith("engine") and n != "encodings"),
                    reverse=True)[:top]
    print(f"import of the server (-X importtime): {total / 1000:.0f} ms; costliest packages (cumulative): "
          + ", ".join(f"{n} {c / 1000:.0f}" for c, n in costly))


def soak(environment: dict[str, str], scratch: Path, connections: int, total: int, every: int = 10_000) -> None:
    """``total`` messages through a fresh server: its RSS at the start, every ``every`` and at the end."""
    port = free_port()
    process = start_service(environment, scratch, port, "soak")
    try:
        wait_until_up(port, process)
        marks = [(0, resident_kb(process.pid) / 1024)]
        began, cpu = time.perf_counter(), cpu_seconds(process.pid)
        tally = asyncio.run(drive_count(port, connections, total, 7, every,
                                        lambda sent: marks.append((sent, resident_kb(process.pid) / 1024))))
        elapsed, cpu = time.perf_counter() - began, cpu_seconds(process.pid) - cpu
        if marks[-1][0] != total:
            marks.append((total, resident_kb(process.pid) / 1024))
        ordered = sorted(tally.latencies)
        print(f"soak: {len(ordered)} messages in {elapsed:.0f} s ({len(ordered) / elapsed:.0f} msg/s, "
              f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {ordered[int(len(ordered) * 0.99) - 1] * 1000:.1f} ms, "
              f"CPU ≈ {cpu / len(ordered) * 1e6:.0f} µs per message), errors {tally.errors}, orders {tally.orders}")
        print("soak RSS (MB) after n messages: " + ", ".join(f"{n // 1000}k {mb:.1f}" for n, mb in marks)
              + f"; growth {marks[-1][1] - marks[1 if len(marks) > 2 else 0][1]:+.1f} MB after the first {every // 1000}k")
    finally:
        stop(process)


def scale_out(environment: dict[str, str], scratch: Path, connections: int, seconds: float, warmup: float,
              instances: int, single: float) -> None:
    """``instances`` servers on the one Redis, ``connections`` shared between them, measured together."""
    ports = [free_port() for _ in range(instances)]
    processes = [start_service(environment, scratch, port, f"instance{n}") for n, port in enumerate(ports)]
    try:
        for port, process in zip(ports, processes):
            wait_until_up(port, process)
        before = [cpu_seconds(process.pid) for process in processes]
        tallies = asyncio.run(drive_many(ports, connections, seconds, warmup, 9))
        rates = []
        for n, (tally, process, cpu) in enumerate(zip(tallies, processes, before)):
            total = len(tally.latencies) * (1 + warmup / seconds)
            rates.append(report(f"instance {n + 1}", tally, seconds,
                                (cpu_seconds(process.pid) - cpu) / total * 1e6).rate)
        print(f"{instances} instances on one Redis: {sum(rates):.0f} msg/s together "
              f"({sum(rates) / single:.2f} × one instance's {single:.0f}); a peak of 200 customers ordering "
              f"within an hour is 200 × {len(CONVERSATION)} = {200 * len(CONVERSATION)} messages/hour "
              f"≈ {200 * len(CONVERSATION) / 3600:.2f} msg/s")
    finally:
        for process in processes:
            stop(process)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per target")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure each target this many times, by turns (0: no throughput measurement)")
    parser.add_argument("--cold-starts", type=int, default=3, help="cold starts of `rinconcito serve` (0: none)")
    parser.add_argument("--soak", type=int, default=0, metavar="MESSAGES",
                        help="this many messages through a fresh server, its RSS every 10,000 (0: none)")
    parser.add_argument("--instances", type=int, default=1, help="with 2 or more: that many servers on one Redis")
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

        flows = always_open(ROOT / "flows", scratch / "flows")
        prefix = "bench:"
        environment = {
            **os.environ, "PYTHONPATH": str(ROOT), "APP_ENV": "test",
            "REDIS_URL": redis_url, "REDIS_KEY_PREFIX": prefix, "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_URL": PUBLIC_URL, "FLOWS_DIR": str(flows),
            "RATE_LIMIT_GLOBAL": "1000000000", "LOG_LEVEL": "INFO",
        }
        print(f"{os.cpu_count()} CPUs, loopback, one worker per server")
        if arguments.cold_starts > 0:
            cold_starts(environment, scratch, arguments.cold_starts)
            import_time(environment, scratch)

        rounds = arguments.rounds
        service_rate = 0.0
        if rounds > 0:
            service_port = free_port()
            service = start_service(environment, scratch, service_port)
            started.append(service)
            wait_until_up(service_port, service)

            floor_port = free_port()
            floor = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "bench"), "floor:app", "--port",
                 str(floor_port), "--no-access-log", "--log-level", "warning"],
                cwd=scratch, env={**os.environ, "REDIS_URL": redis_url})
            started.append(floor)
            wait_until_up(floor_port, floor)

            print(f"{arguments.connections} connections, {arguments.seconds:.0f} s measured after "
                  f"{arguments.warmup:.0f} s warm-up" + (f", {rounds} rounds by turns" if rounds > 1 else ""))
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
            for process in (floor, service):
                stop(process)
                started.remove(process)

        if arguments.instances > 1:
            if not service_rate:
                raise SystemExit("--instances compares with one instance: give --rounds 1 or more")
            scale_out(environment, scratch, arguments.connections, arguments.seconds, arguments.warmup,
                      arguments.instances, service_rate)
        if arguments.soak > 0:
            soak(environment, scratch, arguments.connections, arguments.soak)
        return 0
    finally:
        for process in reversed(started):
            stop(process)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
