"""Shared test set-up: analytics off, paths to the real test data, capability checks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("HEADFORGE_REALDATA") or ROOT.parent / "shared" / "realdata")
"""``../shared/realdata`` beside the checkout; ``$HEADFORGE_REALDATA`` points elsewhere."""


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The repository root."""
    return ROOT


@pytest.fixture(scope="session")
def realdata() -> Path:
    """Folder of real face videos (``../shared/realdata``); skips when absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real test videos not found at {REALDATA}")
    return REALDATA


@pytest.fixture(autouse=True)
def _isolated_backend_probes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts with no cached backend status and leaves no probe behind; the
    rasterizer's once-per-process "gsplat unavailable" warning is unsent again."""
    import sys

    from headforge import backends
    from headforge.track import detectors  # noqa: F401  (its probes are registered on import)

    render = sys.modules.get("headforge.splat.render")  # a test that imports it later starts fresh
    if render is not None:
        monkeypatch.setattr(render, "_warned_fallback", False)
    with backends.isolated():
        yield


def _has_cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _has_cuda():
        skip_gpu = pytest.mark.skip(reason="needs CUDA; runs where a GPU is lent")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def heads_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic multi-view head dataset (manifest path), shared by the session."""
    from benchmarks.fixtures.synthetic_heads import cached_dataset

    return cached_dataset(tmp_path_factory.getbasetemp())
