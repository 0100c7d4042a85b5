"""Fixtures for ingest tests: a throw-away project root, its registry, and capture builders.

Real faces (the astronaut, the realdata videos) are written into the tmp inbox at test time
only; nothing derived from them is committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from headforge.config import IngestConfig, load_section
from headforge.privacy import Registry

PARAMS = """\
profile: tiny
paths:
  registry_url: sqlite:///registry/headforge.sqlite
ingest:
  inbox: inbox
  resolution: 128
  video_fps: 2.0
  max_frames: 4
  box_scale: 1.8
"""


@pytest.fixture()
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A minimal project root (params.yaml, empty inbox) that every path resolves to."""
    (tmp_path / "params.yaml").write_text(PARAMS)
    (tmp_path / "inbox").mkdir()
    monkeypatch.setenv("HEADFORGE_ROOT", str(tmp_path))
    monkeypatch.delenv("HEADFORGE_REGISTRY_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture()
def registry(root: Path) -> Iterator[Registry]:
    """The tmp project's SQLite registry."""
    with Registry.from_config(root) as reg:
        yield reg


@pytest.fixture()
def cfg(root: Path) -> IngestConfig:
    return load_section(IngestConfig, "ingest")


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut portrait, [512, 512, 3] uint8 RGB."""
    from skimage import data

    return np.asarray(data.astronaut())


