"""The server loads an optional integration only when it is configured: a service that keeps its
orders in SQLite and runs without Twilio credentials never imports supabase's client, twilio's
aiohttp one or the Content API's httpx one (with rich, which httpx's package pulls in when it is
installed): they cost most of a cold start otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

OPTIONAL = ("supabase", "postgrest", "aiohttp", "twilio.rest", "httpx", "rich", "engine.orders.supabase",
            "engine.channels.twilio.rest", "engine.channels.twilio.content_api")


def test_importing_the_server_loads_no_optional_integration():
    probe = "import sys, engine.http.serve; print(' '.join(m for m in %r if m in sys.modules))" % (OPTIONAL,)
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.split() == []
    assert "engine.http.wiring" in subprocess.run(
        [sys.executable, "-c", "import sys, engine.http.serve; print(' '.join(sys.modules))"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
