"""The record of flows that passed every check, so that a start can trust what an identical run checked.

A load without errors by ``rinconcito validate`` or by a start writes the *fingerprint* of what
it checked into ``.rinconcito-checked`` in the flows' folder: a SHA-256 of the five flow files'
bytes, of the code that reads and checks them (``engine.loading`` with its JSON Schemas,
``engine.runtime``, ``engine.model``, ``engine.languages``: the layers the checks are made of,
which import nothing above them), of Python's version and of the versions of the libraries
that code uses (PyYAML, Jinja2, jsonschema, phonenumbers).

A start whose fingerprint is the recorded one builds the flows without checking them again:
neither the JSON Schema check nor the meaning checks run, and jsonschema is not even imported
(≈ 0.3 s of CPU on a small machine). Anything else, one byte of one file, another engine or
library version, a missing or unreadable record, and the flows are checked in full, as
without a record. Render keeps nothing an instance writes, so its build runs ``rinconcito
validate`` (``render.yaml``): the record is part of what is deployed.

The record vouches for files an identical run read, nothing more: whoever can write it can
write the flows themselves.
"""

from __future__ import annotations

import hashlib
import os
import sys
from contextlib import suppress
from importlib import metadata
from pathlib import Path

import jinja2
import phonenumbers
import yaml

from engine.loading.build import FLOW_FILES

RECORD = ".rinconcito-checked"
"""The record's name, in the flows' folder."""

ENGINE = Path(__file__).resolve().parent.parent
CHECKING_CODE = ("loading", "runtime", "model", "languages")
"""The engine's packages whose code reads, builds and checks the flows."""


def engine_fingerprint() -> str:
    """The checking code, Python and the libraries, as one digest (the same for every folder)."""
    digest = hashlib.sha256()
    for part in (sys.version, yaml.__version__, jinja2.__version__, metadata.version("jsonschema"),
                 phonenumbers.__version__):
        digest.update(part.encode() + b"\0")
    for package in CHECKING_CODE:
        for path in sorted((ENGINE / package).rglob("*")):
            if path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
                _add(digest, path.relative_to(ENGINE).as_posix(), path.read_bytes())
    return digest.hexdigest()


def fingerprint(directory: Path, engine: str) -> str | None:
    """What a run checks in ``directory`` with the code ``engine`` stands for; None when a flow
    file cannot be read (the load says why)."""
    digest = hashlib.sha256(engine.encode())
    for kind in FLOW_FILES:
        try:
            _add(digest, kind, (directory / f"{kind}.yaml").read_bytes())
        except OSError:
            return None
    return digest.hexdigest()


def recorded(directory: Path) -> str | None:
    """The fingerprint recorded in ``directory``; None without a readable record."""
    try:
        return (directory / RECORD).read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def record(directory: Path, checked: str) -> bool:
    """Record ``checked`` in ``directory``, whole or not at all (two starts may write at once);
    False when the folder cannot be written (then every start checks in full, as before)."""
    target = directory / RECORD
    partial = directory / f"{RECORD}.{os.getpid()}"
    try:
        partial.write_text(checked + "\n", encoding="ascii")
        os.replace(partial, target)
    except OSError:
        with suppress(OSError):
            partial.unlink(missing_ok=True)
        return False
    return True


def _add(digest: "hashlib._Hash", name: str, data: bytes) -> None:
    digest.update(f"{name}\0{len(data)}\0".encode())
    digest.update(data)
