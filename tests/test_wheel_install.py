"""The package as Render installs it, far from the checkout.

render.yaml builds with ``pip install .`` and starts with ``rinconcito serve --host 0.0.0.0``:
nothing of the repository but the package is there at run time. So the wheel is built from a
copy of the sources, installed (not editable) into a fresh virtual environment in a temporary
directory, and run from a folder that holds only a copy of ``flows/``: whatever the engine reads
from the repository instead of from its own package fails here.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from servicekit import free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("restaurant", "menu", "hours", "messages", "order", "conversation")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    work: Path
    """A folder with nothing but a copy of ``flows/``, where the commands run."""

    def command(self, *args: str) -> list[str]:
        return [str(self.venv / "bin" / "rinconcito"), *args]

    @property
    def env(self) -> dict[str, str]:
        """What Render gives the process, less its secrets: a PATH, a HOME, no PYTHONPATH, no
        setting of ours (development defaults: memory sessions, SQLite orders in the folder)."""
        return {
            "PATH": f"{self.venv / 'bin'}{os.pathsep}/usr/local/bin{os.pathsep}/usr/bin{os.pathsep}/bin",
            "HOME": os.environ.get("HOME", str(self.work)),
            "LANG": "C.UTF-8",
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args), cwd=self.work, env=self.env, capture_output=True, text=True, timeout=120,
        )


def outside_the_checkout(path: Path) -> Path:
    assert ROOT not in path.resolve().parents, f"{path} is inside the checkout"
    return path


def sources_copy(target: Path) -> Path:
    """What a clone holds for the build: pyproject.toml, the README it names, the package. A copy,
    so the build writes nothing into the checkout and no earlier ``build/`` can leak into it."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    shutil.copytree(ROOT / "engine", target / "engine", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


WHEELHOUSE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "rinconcito-tests" / f"wheels-py{sys.version_info[0]}{sys.version_info[1]}"
)
"""The dependencies' wheels, kept between runs: the index is asked again only when the package
needs something the wheelhouse lacks (a first run, a new or raised dependency)."""


def pip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    done = subprocess.run([sys.executable, "-m", "pip", *args], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0 or not check, done.stdout + done.stderr
    return done


def install(wheel: Path, venv: Path) -> None:
    """``pip install`` of the wheel into ``venv``, its dependencies from the wheelhouse, which is
    first filled from the index (as ``pip install .`` would take them) when it falls short."""
    # This pip installs into the environment, which so needs no pip of its own; not byte-compiling
    # only saves time.
    command = ("--python", str(venv / "bin" / "python"), "install", "--quiet", "--no-compile",
               "--no-index", "--find-links", str(WHEELHOUSE), str(wheel))
    if pip(*command, check=False).returncode != 0:
        forget_the_project(WHEELHOUSE)  # an older build of this very wheel would stand in for the new one
        pip("wheel", "--quiet", "--wheel-dir", str(WHEELHOUSE), str(wheel))
        forget_the_project(WHEELHOUSE)
        pip(*command)


def forget_the_project(wheelhouse: Path) -> None:
    """The wheelhouse keeps dependencies only: ``pip wheel`` saves the project's wheel there too,
    and a later build with the same name but new dependencies must not be mistaken for it."""
    for stale in wheelhouse.glob("rinconcito-*.whl"):
        stale.unlink()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = outside_the_checkout(tmp_path_factory.mktemp("wheel-install"))
    pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(base / "dist"), str(sources_copy(base / "src")))
    wheels = sorted((base / "dist").glob("*.whl"))
    assert [w.name for w in wheels] == ["rinconcito-0.1.0-py3-none-any.whl"]

    venv = base / "venv"  # a fresh environment of its own: no --system-site-packages
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    install(wheels[0], venv)

    work = base / "site"
    work.mkdir()
    shutil.copytree(ROOT / "flows", work / "flows")
    return Installed(wheels[0], venv, work)


def test_the_wheel_holds_the_whole_package_its_schemas_and_its_type_marker(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "engine").rglob("*.py") if "__pycache__" not in p.parts}
    assert sources - names == set()
    assert {f"engine/loading/schemas/{kind}.schema.json" for kind in KINDS} <= names
    assert "engine/py.typed" in names
    assert "rinconcito-0.1.0.dist-info/entry_points.txt" in names
    assert not [n for n in names if not n.startswith(("engine/", "rinconcito-0.1.0.dist-info/"))]


def test_the_package_and_its_dependencies_come_from_the_fresh_environment(installed: Installed) -> None:
    modules = ("engine.cli.main", "engine.http.serve", "uvicorn", "starlette", "twilio", "supabase", "redis", "yaml")
    script = f"import importlib\nfor name in {modules!r}:\n    print(importlib.import_module(name).__file__)"
    done = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c", script],
        cwd=installed.work, env=installed.env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    files = done.stdout.split()
    assert len(files) == len(modules)
    assert [f for f in files if not Path(f).is_relative_to(installed.venv)] == []


def test_validate_flows_from_the_installed_package(installed: Installed) -> None:
    done = installed.run("validate", "flows")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✅ Los flujos están bien" in done.stdout


def test_conversation_tests_from_the_installed_package(installed: Installed) -> None:
    done = installed.run("test")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    passed, failed = (int(word) for word in summary.replace(",", "").split()[::2])
    assert passed > 0 and failed == 0, summary


@pytest.fixture
def server(installed: Installed) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    port = free_port()
    log = installed.work.parent / f"serve-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            installed.command("serve", "--host", "127.0.0.1", "--port", str(port)),
            cwd=installed.work, env=installed.env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        yield process, f"http://127.0.0.1:{port}", log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_serve_from_the_installed_package_becomes_ready_and_stops_cleanly(server) -> None:
    process, base, log = server

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"rinconcito serve exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            return httpx.get(base + "/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, timeout=60, every=0.1, what=f"GET {base}/ready")
    assert httpx.get(base + "/ready", timeout=2).json()["status"] == "ready"
    process.send_signal(signal.SIGTERM)  # as Render stops an instance
    code = process.wait(30)
    text = log.read_text(errors="replace")
    assert code in (0, -signal.SIGTERM), text  # uvicorn re-raises the signal once it has shut down
    assert "Escuchando en http://127.0.0.1:" in text
    assert "Panel del restaurante: http://127.0.0.1:" in text  # make run shows the panel's address
    assert "Application shutdown complete." in text and "Traceback" not in text, text
