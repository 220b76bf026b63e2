"""A start trusts only flows an identical run checked: the record of their fingerprint is written
after a load without errors, and anything changed since (one byte of a file, the checking code)
means a check in full, with the same problems as without a record."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli.commands.validate import validate
from engine.loading import checked
from engine.loading.pipeline import inspect, load_flows, load_flows_to_start
from engine.loading.problems import FlowErrors

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", target, ignore=shutil.ignore_patterns(checked.RECORD))
    return target


def problems(error: FlowErrors) -> list[tuple[str, str]]:
    return [(p.location(), p.render("es")) for p in error.problems]


def test_a_start_builds_without_checking_again_what_an_identical_run_checked(folder: Path) -> None:
    first, trusted = load_flows_to_start(folder)
    assert not trusted
    assert checked.recorded(folder) == checked.fingerprint(folder, checked.engine_fingerprint())
    again, trusted = load_flows_to_start(folder)
    assert trusted
    assert (again.hash, again.messages, again.menu, again.order) == (first.hash, first.messages, first.menu, first.order)


def test_validate_records_the_flows_it_found_without_errors(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(folder, "text", "es") == 0
    assert load_flows_to_start(folder)[1]


def test_flows_with_errors_are_never_recorded(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    messages = folder / "messages.yaml"
    messages.write_text(messages.read_text(encoding="utf-8").replace("{{ restaurant.name }}", "{{ restaurant.nombre }}", 1),
                        encoding="utf-8")
    assert validate(folder, "text", "es") == 1
    assert inspect(folder, record=True).errors
    assert not (folder / checked.RECORD).exists()


def test_one_changed_byte_is_checked_in_full_with_the_same_problems(folder: Path) -> None:
    load_flows_to_start(folder)
    order = folder / "order.yaml"
    order.write_text(order.read_text(encoding="utf-8").replace("go: ", "go: x", 1), encoding="utf-8")
    with pytest.raises(FlowErrors) as plain:
        load_flows(folder)
    with pytest.raises(FlowErrors) as at_start:
        load_flows_to_start(folder)
    assert problems(at_start.value) == problems(plain.value) != []


def test_a_record_made_by_other_checking_code_is_not_trusted(folder: Path) -> None:
    checked.record(folder, checked.fingerprint(folder, "an engine of another version") or "")
    assert not load_flows_to_start(folder)[1]
    assert load_flows_to_start(folder)[1]  # recorded again, by this engine


def test_the_fingerprint_covers_every_flow_file_and_the_checking_code(folder: Path) -> None:
    engine = checked.engine_fingerprint()
    base = checked.fingerprint(folder, engine)
    assert base is not None and checked.fingerprint(folder, engine + "x") != base
    for kind in ("restaurant", "menu", "hours", "messages", "order"):
        path = folder / f"{kind}.yaml"
        text = path.read_bytes()
        path.write_bytes(text + b"\n")
        assert checked.fingerprint(folder, engine) != base, kind
        path.write_bytes(text)
    assert checked.fingerprint(folder, engine) == base
    assert checked.engine_fingerprint() == engine


def test_a_folder_where_no_record_can_be_written_still_loads(folder: Path) -> None:
    (folder / checked.RECORD).mkdir()  # neither readable nor replaceable as a file
    assert not load_flows_to_start(folder)[1]
    assert not load_flows_to_start(folder)[1]
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(checked.RECORD)) == [checked.RECORD]


def test_missing_files_are_reported_as_without_a_record(tmp_path: Path) -> None:
    with pytest.raises(FlowErrors) as plain:
        load_flows(tmp_path)
    with pytest.raises(FlowErrors) as at_start:
        load_flows_to_start(tmp_path)
    assert problems(at_start.value) == problems(plain.value) != []


def test_a_start_trusting_its_record_never_imports_jsonschema(folder: Path) -> None:
    probe = ("import sys; from engine.loading.pipeline import load_flows_to_start; "
             f"_, trusted = load_flows_to_start({str(folder)!r}); print(trusted, 'jsonschema' in sys.modules)")

    def start() -> str:
        return subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert start().split() == ["False", "True"]
    assert start().split() == ["True", "False"]
