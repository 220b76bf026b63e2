"""The loading pipeline, in one place for the server, the CLI and the tests.

safe YAML keeping positions (``source``) → JSON Schema (``shape``) → meaning checks (``checks``)
→ immutable typed records (``flows``). Every problem of every file is reported in one run; a
file whose shape is wrong is not checked for meaning, so one mistake gives one error.

A load without errors may record what it checked (``checked``); a start finding the same
fingerprint recorded builds the flows without checking them again (``load_flows_to_start``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.loading import checked
from engine.loading.build import FLOW_FILES, build
from engine.loading.checks import run_checks
from engine.loading.problems import FlowErrors, FlowProblem
from engine.loading.source import Source, load_source
from engine.runtime.flows import Flows


class MissingFile(FlowProblem):
    text = {"es": "Falta el archivo {name}.", "en": "The file {name} is missing."}
    fix = {
        "es": "Cada bot necesita restaurant.yaml, menu.yaml, hours.yaml, messages.yaml y order.yaml en la misma carpeta.",
        "en": "Every bot needs restaurant.yaml, menu.yaml, hours.yaml, messages.yaml and order.yaml in one folder.",
    }


@dataclass
class Loaded:
    """The result of a load: the flows when nothing is wrong, and every problem found."""

    flows: Flows | None
    problems: list[FlowProblem] = field(default_factory=list)

    @property
    def errors(self) -> list[FlowProblem]:
        return [p for p in self.problems if p.severity == "error"]


def display_name(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def read_sources(directory: Path) -> tuple[dict[str, Source], list[FlowProblem]]:
    # jsonschema loads only when flows are checked: a start that trusts its record never imports it.
    from engine.loading.shape import check_shape

    sources: dict[str, Source] = {}
    problems: list[FlowProblem] = []
    for kind in FLOW_FILES:
        path = directory / f"{kind}.yaml"
        name = display_name(path)
        if not path.exists():
            problems.append(MissingFile(file=name, details={"name": name}))
            continue
        try:
            source = load_source(path, name)
        except FlowErrors as errors:
            problems.extend(errors.problems)
            continue
        shape_problems = check_shape(source, kind)
        problems.extend(shape_problems)
        if not shape_problems:
            sources[kind] = source
    return sources, problems


def inspect(directory: Path, record: bool = False) -> Loaded:
    """Run the whole pipeline; never raises for a mistake in the files. With ``record``, flows
    without errors are recorded as checked (see ``checked``), unless a file changed meanwhile."""
    return _inspect_and_record(directory, checked.engine_fingerprint()) if record else _inspect(directory)


def _inspect_and_record(directory: Path, engine: str) -> Loaded:
    before = checked.fingerprint(directory, engine)
    loaded = _inspect(directory)
    if before is not None and not loaded.errors and checked.fingerprint(directory, engine) == before:
        checked.record(directory, before)
    return loaded


def _inspect(directory: Path) -> Loaded:
    sources, problems = read_sources(directory)
    if problems:
        return Loaded(None, problems)
    flows = build(sources)
    found = [sources[p_kind].locate_problem(p) for p_kind, p in run_checks(flows, sources)]
    if any(p.severity == "error" for p in found):
        return Loaded(None, found)
    return Loaded(flows, found)


def load_flows(directory: Path) -> Flows:
    """The checked flows, or ``FlowErrors`` with every problem."""
    loaded = inspect(Path(directory))
    if loaded.flows is None:
        raise FlowErrors(loaded.problems)
    return loaded.flows


def load_flows_to_start(directory: Path) -> tuple[Flows, bool]:
    """The flows a service starts with, and whether they were taken as checked: when the record
    in ``directory`` is the fingerprint of its files (an identical run checked them), they are
    built without checking them again; else they are checked in full (``FlowErrors``), and
    recorded when they have no error."""
    directory = Path(directory)
    engine = checked.engine_fingerprint()
    vouched = checked.recorded(directory)
    if vouched is not None and checked.fingerprint(directory, engine) == vouched:
        try:
            sources = {kind: load_source(directory / f"{kind}.yaml", display_name(directory / f"{kind}.yaml"))
                       for kind in FLOW_FILES}
        except FlowErrors:
            pass  # changed since: checked in full below
        else:
            flows = build(sources)
            if checked.fingerprint(directory, engine) == vouched:  # not changed while being read
                return flows, True
    loaded = _inspect_and_record(directory, engine)
    if loaded.flows is None:
        raise FlowErrors(loaded.problems)
    return loaded.flows, False
