from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from benchmarks.fixtures.synthetic_heads import cached_dataset

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def heads_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic multi-view head dataset (manifest path), shared by the session."""
    return cached_dataset(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def prior_ckpt(heads_manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from headforge.prior.stage import load_head
    from headforge.prior.train import train
    from tests.prior.helpers import HEAD, TINY_TRAIN, training_views

    views, _ = training_views(heads_manifest)
    head, parts = load_head(HEAD)
    return train(TINY_TRAIN, views, tmp_path_factory.mktemp("prior"), head, parts).checkpoint


@pytest.fixture(scope="session")
def bundle(heads_manifest: Path, prior_ckpt: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Path:
    """A synthetic avatar bundle made by the real inversion (tiny budgets)."""
    from headforge.invert.stage import invert_subject, load_prior, synthetic_subject_inputs
    from headforge.prior.data import read_manifest
    from tests.prior.helpers import HEAD, TINY_INVERT, held_out

    prior = load_prior(prior_ckpt, HEAD, "cpu")
    chosen = synthetic_subject_inputs(read_manifest(heads_manifest), held_out(heads_manifest)[0],
                                      TINY_INVERT, heads_manifest.parent)
    out = tmp_path_factory.mktemp("bundle") / "subj"
    return invert_subject(prior, chosen, TINY_INVERT, out, "subj", prior_ckpt, baseline=False)


@pytest.fixture(scope="session")
def prior(prior_ckpt: Path):
    from headforge.invert.stage import load_prior
    from tests.prior.helpers import HEAD

    return load_prior(prior_ckpt, HEAD, "cpu")


def jaw_sequence(folder: Path, n: int = 3, jaw_max: float = 0.3) -> Path:
    """A tracked-like sequence folder: the jaw opens over ``n`` frames, nothing else moves."""
    folder.mkdir(parents=True)
    for i in range(n):
        p = {k: np.zeros((1, d), np.float32) for k, d in
             {"shape": 50, "expr": 20, "rotation": 3, "neck_pose": 3, "jaw_pose": 3,
              "eyes_pose": 6, "translation": 3}.items()}
        p["jaw_pose"][0, 0] = jaw_max * i / max(n - 1, 1)
        p["shape"][0] = 2.0  # the driver's identity must not reach the avatar
        np.savez(folder / f"{i:06d}.npz", **p)
    return folder


def node() -> str:
    exe = shutil.which("node")
    if exe is None:
        pytest.fail("Node is not installed: the web viewer and its checks need node and npm "
                    "(apt-get install nodejs npm)")
    return exe


@pytest.fixture(scope="session")
def web_built() -> Path:
    """The viewer's node_modules and vendored bundle (``make web``), built when missing."""
    from headforge.export.formats import WEB_DIST

    node()
    if not (WEB_DIST / ".built").is_file() or not (ROOT / "web" / "node_modules").is_dir():
        subprocess.run(["make", "web"], cwd=ROOT, check=True)
    return WEB_DIST
