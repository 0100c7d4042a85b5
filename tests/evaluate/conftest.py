from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_prior(heads_manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-step prior checkpoint on the tiny synthetic heads."""
    from headforge.prior.stage import load_head
    from headforge.prior.train import train
    from tests.prior.helpers import HEAD, TINY_TRAIN, training_views

    views, _ = training_views(heads_manifest)
    head, parts = load_head(HEAD)
    return train(TINY_TRAIN, views, tmp_path_factory.mktemp("tiny_prior"), head,
                 parts).checkpoint
