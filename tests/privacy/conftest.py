"""Registry fixtures: a fresh SQLite file registry per test, rooted in a temporary project."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from headforge.privacy import Registry


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A temporary project root (holds a params.yaml naming a relative SQLite registry)."""
    (tmp_path / "params.yaml").write_text(
        "profile: tiny\npaths:\n  registry_url: sqlite:///registry/test.sqlite\n"
    )
    return tmp_path


@pytest.fixture
def reg(root: Path) -> Iterator[Registry]:
    """A registry in ``<root>/registry/test.sqlite``."""
    r = Registry.from_url("sqlite:///registry/test.sqlite", root=root)
    yield r
    r.close()
