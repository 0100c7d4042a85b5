"""The library has no import cycles: its module-level import graph is a DAG.

Function-local imports (deferred until called) and ``if TYPE_CHECKING:`` blocks are not
edges: they never run while a module is being imported.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def _modules(src: Path) -> dict[str, Path]:
    out = {}
    for p in sorted((src / "headforge").rglob("*.py")):
        parts = list(p.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def module_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Library modules that ``name`` imports while it is itself being imported."""
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If):
                if not _is_type_checking(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for h in node.handlers:
                    visit(h.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, ast.With):
                visit(node.body)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name in known)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_pkg else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                for a in node.names:
                    if f"{mod}.{a.name}" in known:  # a submodule
                        found.add(f"{mod}.{a.name}")
                    elif mod in known:
                        found.add(mod)
            # function and class bodies are not visited: imports there are deferred

    visit(ast.parse(path.read_text(), filename=str(path)).body)
    found.discard(name)
    return found


def import_graph(src: Path) -> dict[str, set[str]]:
    mods = _modules(src)
    return {m: module_imports(m, p, set(mods)) for m, p in mods.items()}


def test_library_import_graph_is_acyclic() -> None:
    graph = import_graph(SRC)
    assert len(graph) > 100, "the walk found too few modules: is SRC right?"
    assert "headforge.ingest.readers" in graph["headforge.ingest.capture"]
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as e:
        pytest.fail(f"import cycle in the library: {' -> '.join(e.args[1])}")
    assert set(order) == set(graph)


def test_the_graph_walk_sees_cycles(tmp_path: Path) -> None:
    """The check can fail: a two-module cycle, and a deferred import that is no edge."""
    pkg = tmp_path / "headforge"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from headforge.b import x\n")
    (pkg / "b.py").write_text("from . import a\nx = 1\n")
    (pkg / "c.py").write_text("def f():\n    from headforge import a\n")
    (pkg / "d.py").write_text("from typing import TYPE_CHECKING\n"
                              "if TYPE_CHECKING:\n    from headforge import c\n")
    graph = import_graph(tmp_path)
    assert graph["headforge.a"] == {"headforge.b"} and graph["headforge.b"] == {"headforge.a"}
    assert graph["headforge.c"] == set() and graph["headforge.d"] == set()
    with pytest.raises(graphlib.CycleError):
        list(graphlib.TopologicalSorter(graph).static_order())
