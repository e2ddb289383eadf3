"""The import layers hold, and no module of gc_theory imports itself round a cycle.

The layers are stated once, in :data:`gc_theory.core.areas.LAYERS`, and the
claim modules once, in :data:`gc_theory.core.areas.AREAS`; :func:`contract`
turns both into import-linter contracts (the layers between packages, claim
modules independent of each other, no cycles between the modules of any
package) and the first test runs them. The cycle test builds the graph of
imports itself (no import-linter needed) and looks for strongly connected
components, so a cycle is caught even where the linter is not installed.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from gc_theory.core.areas import AREAS, LAYERS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "gc_theory"


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def contract() -> str:
    """The import-linter configuration (TOML) of the layers and areas of gc_theory.core.areas."""
    return "\n".join([
        "[tool.importlinter]",
        'root_package = "gc_theory"',
        "",
        "[[tool.importlinter.contracts]]",
        'name = "gc_theory imports flow one way: ' + " > ".join(LAYERS) + '"',
        'type = "layers"',
        'containers = ["gc_theory"]',
        "exhaustive = true",
        "layers = " + _toml_list(list(LAYERS)),
        "",
        "[[tool.importlinter.contracts]]",
        'name = "a claim module states its own area\'s claims and imports no other area\'s"',
        'type = "independence"',
        "modules = " + _toml_list([f"gc_theory.claims.{a.name}" for a in AREAS]),
        "",
        "[[tool.importlinter.contracts]]",
        'name = "no import cycles between the modules of any gc_theory package"',
        'type = "acyclic_siblings"',
        'ancestors = ["gc_theory"]',
        "",
    ])  # fmt: skip


def _lint(config: Path) -> subprocess.CompletedProcess[str]:
    # The linter's own entry point, run by this interpreter: no console script on the path needed.
    command = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"]
    return subprocess.run([*command, "--no-cache", str(config)], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_layer_contracts_are_kept(tmp_path: Path) -> None:
    pytest.importorskip("importlinter")
    config = tmp_path / "importlinter.toml"
    config.write_text(contract())
    run = _lint(config)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "3 kept, 0 broken" in run.stdout


def test_every_package_of_gc_theory_is_in_a_layer() -> None:
    """An exhaustive contract: a new package must be given its place in LAYERS."""
    named = {name.strip() for layer in LAYERS for name in layer.split("|")}
    present = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    present |= {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert present == named


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """gc_theory modules `name` imports anywhere (a deferred import inside a function still closes a cycle)."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
    # A submodule reading its own package's namespace is how packages re-export: not a cycle.
    ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    return {m for m in found if m in modules and m != name and m not in ancestors}


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; components of more than one module are cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [c for c in components if len(c) > 1]


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: _imports(path, name, set(paths)) for name, path in paths.items()}


def test_no_import_cycles_inside_gc_theory() -> None:
    assert _strongly_connected(_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _strongly_connected(graph) == [["a", "b", "c"]]


def test_the_graph_sees_the_package() -> None:
    graph = _graph()
    assert "gc_theory.problems.glm" in graph["gc_theory.problems"]
    assert "gc_theory.verify.context" in graph["gc_theory.problems.convex"]
