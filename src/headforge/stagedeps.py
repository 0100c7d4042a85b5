"""What a DVC stage's code is: the import closure of ``flows/<stage>.py`` inside the project.

Used by the test that keeps ``dvc.yaml`` honest (every module a stage imports, at module level
or inside a function, is covered by one of the stage's ``deps``) and by the keys check (each
stage lists its params per key, never the runner keys that say *how* a stage runs).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGES = ("headforge", "flows", "tasks")
"""Top-level packages that belong to the project (anything else is a third-party import)."""

RUNNER_KEYS = frozenset({"runner", "max_workers", "dask_address", "threads_per_worker"})
"""Keys that choose how a stage runs (threads, processes, Dask), not what it computes."""


def module_file(root: Path, module: str) -> Path | None:
    """The file of a project module (``headforge.x.y`` -> ``src/headforge/x/y.py`` or its
    package ``__init__.py``), None for third-party modules."""
    parts = module.split(".")
    if parts[0] not in PACKAGES:
        return None
    base = root / "src" if parts[0] == "headforge" else root
    path = base.joinpath(*parts)
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return None


def _module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root / "src" if path.is_relative_to(root / "src") else root)
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(root: Path, path: Path) -> set[str]:
    """Project modules ``path`` imports anywhere (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    me = _module_name(root, path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import module`
    return {m for m in found if m.split(".")[0] in PACKAGES}


def import_closure(root: Path, entry: Path) -> set[Path]:
    """Every project file that importing ``entry`` (and calling into it) may load, with the
    ``__init__.py`` of every package on the way."""
    seen: set[Path] = set()
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for mod in imported_modules(root, path):
            parts = mod.split(".")
            for i in range(1, len(parts) + 1):
                f = module_file(root, ".".join(parts[:i]))
                if f is not None and f not in seen:
                    todo.append(f)
    return seen


def uncovered(root: Path, files: set[Path], deps: list[str]) -> list[str]:
    """Files (relative to ``root``) not inside any of ``deps``."""
    dep_paths = [(root / d).resolve() for d in deps]
    out = []
    for f in sorted(files):
        r = f.resolve()
        if not any(r == d or r.is_relative_to(d) for d in dep_paths):
            out.append(str(f.relative_to(root)))
    return out


def suggested_deps(root: Path, files: set[Path]) -> list[str]:
    """Code deps covering ``files``: each library subpackage as one folder
    (``src/headforge/<pkg>``), top-level library modules and ``flows``/``tasks`` files one by
    one."""
    out: set[str] = set()
    lib = root / "src" / "headforge"
    for f in files:
        if f.is_relative_to(lib):
            rel = f.relative_to(lib)
            out.add(str((lib / rel.parts[0]).relative_to(root)) if len(rel.parts) > 1
                    else str(f.relative_to(root)))
        else:
            out.add(str(f.relative_to(root)))
    return sorted(out)


def _is_code(root: Path, dep: str) -> bool:
    return dep.startswith(("src/", "flows/", "tasks/"))


def refresh_dvc_yaml(root: Path, stage_params: dict[str, list[str]] | None = None) -> str:
    """``dvc.yaml`` with every stage's code deps recomputed from its import closure (data deps
    kept) and, when given, its params replaced; returns the new text (comments before the
    ``stages:`` key are kept)."""
    import yaml

    path = root / "dvc.yaml"
    text = path.read_text()
    head = text[: text.index("stages:")]
    doc = yaml.safe_load(text)
    for name, stage in doc["stages"].items():
        entry = root / "flows" / f"{name}.py"
        data = [d for d in stage.get("deps", []) if not _is_code(root, d)]
        stage["deps"] = suggested_deps(root, import_closure(root, entry)) + data
        if stage_params is not None and name in stage_params:
            if stage_params[name]:
                stage["params"] = stage_params[name]
            else:
                stage.pop("params", None)
    return head + yaml.safe_dump(doc, sort_keys=False, width=100)
