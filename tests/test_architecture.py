"""The engine's import structure: no cycle between its modules, no import hidden in a function.

The layers themselves are import-linter contracts in pyproject.toml (``lint-imports``). These
tests guard what a contract does not express: that the graph has no cycle at all, and that no
import is placed inside a function, where it would hide a cycle or a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "engine"

LAZY_IMPORTS = {
    ("engine/cli/main.py", "command"): (
        "loads the module of the one command that runs, so `rinconcito validate` never pays for "
        "the web server, Twilio or Supabase"
    ),
    ("engine/orders/opening.py", "open_order_store"): (
        "optional integration loaded only when configured: the supabase client is imported only "
        "when SUPABASE_URL and SUPABASE_KEY are set (≈ 0.3 s of CPU and 26 MB at every start otherwise)"
    ),
    ("engine/channels/twilio/sender.py", "sender_for"): (
        "optional integration loaded only when configured: twilio's REST client and aiohttp "
        "(engine.channels.twilio.rest) are imported only when Twilio's credentials are set"
    ),
    ("engine/loading/pipeline.py", "read_sources"): (
        "jsonschema loads only when flows are checked: a start that finds its flows recorded as "
        "checked by an identical run (engine.loading.checked) never imports it (≈ 0.1 s of CPU)"
    ),
    ("engine/http/content.py", "content_client"): (
        "optional integration loaded only when configured: the Content API's client and httpx "
        "(engine.channels.twilio.content_api) are imported only when Twilio's credentials are set"
    ),
}
"""The only imports allowed inside a function: (file, function) -> why it is lazy."""


def import_cycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (or a module importing itself), by
    Tarjan's algorithm, iterative so a deep graph cannot overflow the stack."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(imports):
        if root in index:
            continue
        work = [(root, iter(sorted(imports[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(imports.get(child, ())))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1 or module in imports.get(module, ()):
                    cycles.append(sorted(group))
    return cycles


def engine_imports() -> dict[str, set[str]]:
    graph = grimp.build_graph("engine", cache_dir=None)
    return {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}


def test_cycle_finder_finds_a_cycle_and_only_cycles():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"a"}, "b": set()}) == [["a"]]
    assert import_cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
    two = {"a": {"b"}, "b": {"a", "c"}, "c": {"d"}, "d": {"c", "e"}, "e": set()}
    assert sorted(import_cycles(two)) == [["a", "b"], ["c", "d"]]


def test_no_import_cycle_between_engine_modules():
    imports = engine_imports()
    assert "engine.runtime.handle" in imports and "engine.model.steps" in imports["engine.runtime.handle"]
    assert import_cycles(imports) == []


def lazy_imports(path: Path) -> list[tuple[str, int, str]]:
    """(function, line, what) for every import statement or import call inside a function."""
    found: list[tuple[str, int, str]] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inside = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if inside is not None and isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((inside, child.lineno, ast.unparse(child)))
            if inside is not None and isinstance(child, ast.Call) and _is_import_call(child.func):
                found.append((inside, child.lineno, ast.unparse(child)))
            visit(child, inside)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), None)
    return found


def _is_import_call(func: ast.expr) -> bool:
    """``importlib.import_module(...)``, ``import_module(...)`` or ``__import__(...)``."""
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in ("import_module", "__import__")


def test_the_lazy_import_finder_sees_statements_and_calls(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import json\n"
        "def f():\n"
        "    from engine.model import steps\n"
        "class C:\n"
        "    async def g(self):\n"
        "        import importlib\n"
        "        return importlib.import_module('x')\n",
        encoding="utf-8",
    )
    assert [(name, line) for name, line, _ in lazy_imports(sample)] == [("f", 3), ("g", 6), ("g", 7)]


def test_no_import_inside_a_function_except_the_listed_ones():
    found = {
        (path.relative_to(ROOT).as_posix(), function, line, what)
        for path in sorted(ENGINE.rglob("*.py"))
        for function, line, what in lazy_imports(path)
    }
    unexpected = sorted(f"{file}:{line} in {function}(): {what}" for file, function, line, what in found if (file, function) not in LAZY_IMPORTS)
    assert unexpected == [], "import at the top of the module (or list it in LAZY_IMPORTS with its reason)"
    stale = sorted(set(LAZY_IMPORTS) - {(file, function) for file, function, _, _ in found})
    assert stale == [], "listed in LAZY_IMPORTS but no longer lazy: drop it from the list"
