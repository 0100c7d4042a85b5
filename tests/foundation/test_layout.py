"""The test tree imports in pytest's default (prepend) mode: folders without ``__init__.py``
put their modules on ``sys.path`` under their bare names, so two such modules with one
basename collide (the second is silently skipped or imports the first)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_module_basenames_are_unique_outside_packages() -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    for py in TESTS.rglob("*.py"):
        if py.name == "conftest.py" or (py.parent / "__init__.py").exists():
            continue
        seen[py.stem].append(str(py.relative_to(TESTS)))
    dupes = {k: v for k, v in seen.items() if len(v) > 1}
    assert not dupes, f"rename these test modules so their basenames are unique: {dupes}"
