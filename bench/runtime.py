"""Times the runtime alone (no I/O): a full order conversation, message by message.

Prints the median and p99 per message, what storing and reading the session costs (the webhook
service does both on every message), and the time of a cold `rinconcito validate`.
Run with `make bench` or `.venv/bin/python bench/runtime.py [ROUNDS]`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.loading.pipeline import load_flows
from engine.model.inbound import Inbound
from engine.model.session import Session  # noqa: E402
from engine.runtime.handle import handle

CONVERSATION = [
    "hola", "3 pastor", "harina", "sin cebolla", "2 horchatas y una coca", "carrito", "listo", "2", "Ana López",
    "Calle Durango 12, Roma Norte", "55 1234 5678", "tarjeta", "sí",
]


def time_runtime(rounds: int) -> list[float]:
    flows = load_flows(ROOT / "flows")
    start = datetime(2026, 11, 27, 14, 0, tzinfo=ZoneInfo("America/Mexico_City"))
    samples: list[float] = []
    for round_ in range(rounds):
        session = None
        now = start + timedelta(hours=round_ % 5)
        customer = f"+52551234{round_ % 10000:04d}"
        for text in CONVERSATION:
            inbound = Inbound(customer, text)
            began = time.perf_counter_ns()
            outcome = handle(flows, session, inbound, now)
            samples.append((time.perf_counter_ns() - began) / 1000)
            session = outcome.session
            now += timedelta(seconds=20)
        assert outcome.order is not None, "the conversation must end in an order"
    return samples


def time_session_json(rounds: int) -> tuple[list[float], list[float]]:
    """``Session.to_json`` and ``from_json`` on the session after each message of the conversation."""
    flows = load_flows(ROOT / "flows")
    now = datetime(2026, 11, 27, 14, 0, tzinfo=ZoneInfo("America/Mexico_City"))
    sessions, session = [], None
    for text in CONVERSATION:
        session = handle(flows, session, Inbound("+525512340000", text), now).session
        sessions.append(session)
    writes: list[float] = []
    reads: list[float] = []
    for _ in range(rounds):
        for session in sessions:
            began = time.perf_counter_ns()
            stored = session.to_json()
            written = time.perf_counter_ns()
            Session.from_json(stored)
            writes.append((written - began) / 1000)
            reads.append((time.perf_counter_ns() - written) / 1000)
    return writes, reads


def time_cold_validate(runs: int = 5) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "engine", "validate", "flows"], cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return times


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    time_runtime(5)  # warm up: compile templates, fill caches
    samples = sorted(time_runtime(rounds))
    p99 = samples[int(len(samples) * 0.99) - 1]
    print(f"runtime: {len(samples)} messages ({rounds} whole orders of {len(CONVERSATION)} messages)")
    print(f"  median {statistics.median(samples):.0f} µs/message, p99 {p99:.0f} µs, max {samples[-1]:.0f} µs")
    writes, reads = time_session_json(rounds)
    print(f"session: to_json median {statistics.median(writes):.1f} µs, from_json median {statistics.median(reads):.1f} µs")
    cold = time_cold_validate()
    print(f"cold `rinconcito validate`: median {statistics.median(cold):.2f} s, best {min(cold):.2f} s ({len(cold)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
