"""Every benchmark script's project imports resolve (modules move; the scripts import lazily
inside ``main``, so nothing else notices until someone runs one)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))


def project_imports(path: Path) -> list[tuple[str, str | None, int]]:
    """(module, name or None, line) of every ``headforge``/``flows``/``tasks``/``benchmarks``
    import in ``path``, wherever it sits in the file."""
    out: list[tuple[str, str | None, int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in {"headforge", "flows", "tasks", "benchmarks"}:
                out += [(node.module, a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names
                    if a.name.split(".")[0] == "headforge"]
    return out


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_benchmark_imports_resolve(script: Path) -> None:
    missing = []
    for module, name, line in project_imports(script):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            missing.append(f"line {line}: {module} ({e})")
            continue
        if name is not None and not hasattr(mod, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ModuleNotFoundError:
                missing.append(f"line {line}: {module}.{name}")
    assert not missing, f"{script.name}: unresolved imports: {missing}"


def test_the_check_sees_a_moved_module(tmp_path: Path) -> None:
    bad = tmp_path / "b.py"
    bad.write_text("def main():\n    from headforge.evaluate.nothing_here import x\n")
    assert project_imports(bad) == [("headforge.evaluate.nothing_here", "x", 2)]
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("headforge.evaluate.nothing_here")
