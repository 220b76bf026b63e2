"""``python -m engine.http.serve``: load the settings and the flows, then serve the app
``engine.http.app.create_app`` builds with uvicorn until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path
from typing import Mapping

import uvicorn

from engine.http.app import create_app
from engine.http.settings import SettingsError, load_settings
from engine.http.wiring import Given
from engine.panel.security import panel_config
from engine.loading.checked import RECORD
from engine.loading.pipeline import load_flows_to_start
from engine.loading.problems import FlowErrors
from engine.logs import configure_logging
from engine.service.clock import real_clock
from engine.testing.clock import moved_by_file


def main(
    host: str | None = None,
    port: int | None = None,
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = Path(".env"),
) -> int:
    """Load settings and flows, then serve until SIGINT/SIGTERM (in-flight requests finish).

    ``port`` defaults to ``PORT`` (Render sets it), then 8000; ``host`` to 127.0.0.1. Returns the
    exit code: 0 after a clean stop, 2 for wrong settings (the admin's number is read in the
    restaurant's country, so once the flows are loaded), 1 for flows that do not load.
    """
    try:
        settings = load_settings(os.environ if environ is None else environ, env_file)
    except SettingsError as error:
        for line in error.problems:
            print(f"❌ {line}", file=sys.stderr)
        return 2

    log = configure_logging(settings.log_level, settings.log_format)
    try:
        flows, trusted = load_flows_to_start(settings.flows_dir)
    except FlowErrors as errors:
        for problem in errors.problems:
            print(f"❌ {problem.location()}: {problem.render('es')}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"❌ No se pudieron leer los flujos en {settings.flows_dir}: {error.strerror}", file=sys.stderr)
        return 1
    try:
        settings = settings.for_restaurant(flows.restaurant.country)
    except SettingsError as error:
        for line in error.problems:
            print(f"❌ {line}", file=sys.stderr)
        return 2
    host = host or "127.0.0.1"
    port = port or settings.port
    clock = real_clock(flows.hours.timezone)
    if settings.test_clock_file is not None:  # only with APP_ENV=test: tests move the server's time
        clock = moved_by_file(clock, settings.test_clock_file)
    app = create_app(settings, flows, Given(clock=clock, log=log))
    where = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    if trusted:
        log.info("🌮 Flujos revisados tal cual por una ejecución idéntica (%s en %s): no se revisan otra vez",
                 RECORD, settings.flows_dir)
    log.info("💬 Escuchando en %s/webhook", where)
    if panel_config(settings.panel_password, settings.panel_secret, settings.production).enabled:
        log.info("🖥️ Panel del restaurante: %s/panel", where)
    if settings.twilio_auth_token is None:
        log.info(
            "💬 Prueba: curl --data-urlencode 'From=whatsapp:+5215512345678' --data-urlencode 'Body=hola' %s/webhook",
            where,
        )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=20,
    )
    # What was built so far (the flows above all) lives as long as the process: keep the garbage
    # collector from walking it again and again while it serves.
    gc.collect()
    gc.freeze()
    uvicorn.Server(config).run()
    return 0


def _command_line(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.http.serve", description="Serve the WhatsApp webhook.")
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: PORT, else 8000)")
    arguments = parser.parse_args(argv)
    return main(arguments.host, arguments.port)


if __name__ == "__main__":
    raise SystemExit(_command_line(sys.argv[1:]))
