from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.fixtures.synthetic_heads import cached_dataset


@pytest.fixture(scope="session")
def heads_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic multi-view head dataset (manifest path), shared by the session."""
    return cached_dataset(tmp_path_factory.getbasetemp())
