"""The adapt_prior stage's consent filter and its skipped/lineage behaviour (no training)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from headforge.config import AdaptPriorConfig, HeadModelConfig, TrainPriorConfig
from headforge.prior.adapt import eligible_subjects, run_adaptation, tracked_subjects


class FakeRegistry:
    def __init__(self, consents: dict[str, set[str]]) -> None:
        self.consents = consents
        self.lineage: dict[str, tuple[str, str, list[str]]] = {}

    def has_consent(self, subject_id: str, scope: object) -> bool:
        return str(scope) in self.consents.get(subject_id, set())

    def record_lineage(self, artifact: str | Path, sha256: str, stage: str,
                       subject_ids: list[str]) -> None:
        self.lineage[str(artifact)] = (sha256, stage, list(subject_ids))


def project(tmp_path: Path) -> Path:
    for s in ("s0001", "s0002", "s0003"):
        (tmp_path / "results/track" / s / "flame_params").mkdir(parents=True)
    (tmp_path / "results/track/s0009").mkdir()  # no parameters: not tracked
    (tmp_path / "data/captures").mkdir(parents=True)
    pd.DataFrame({"subject": ["s0001", "s0002"]}).to_parquet(
        tmp_path / "data/captures/manifest.parquet")  # s0003 was removed from the captures
    base = tmp_path / "results/train_prior/base"
    base.mkdir(parents=True)
    (base / "prior.pt").write_bytes(b"base checkpoint")
    return tmp_path


def test_only_tracked_captured_subjects_with_train_prior_consent(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert tracked_subjects(root) == ["s0001", "s0002"]
    reg = FakeRegistry({"s0001": {"capture", "train_prior"}, "s0002": {"capture", "avatar"}})
    cfg = AdaptPriorConfig(steps=5)
    assert eligible_subjects(["s0001", "s0002"], cfg, reg) == (["s0001"], ["s0002"])
    no_check = AdaptPriorConfig(steps=5, require_consent=False)
    assert eligible_subjects(["s0002", "s0001"], no_check, None) == (["s0001", "s0002"], [])
    with pytest.raises(ValueError, match="require_consent"):
        eligible_subjects(["s0001"], cfg, None)


def test_skipped_adaptation_leaves_a_card_and_empty_lineage(tmp_path: Path) -> None:
    root = project(tmp_path)
    stale = root / "results/train_prior/adapted/prior.pt"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"trained on a forgotten subject")
    reg = FakeRegistry({"s0001": {"train_prior"}})
    out = run_adaptation(TrainPriorConfig(), AdaptPriorConfig(steps=0), HeadModelConfig(), root,
                         reg)
    assert out.skipped == "adapt_prior.steps is 0" and out.subjects == [] and not stale.exists()
    card = json.loads((root / "results/train_prior/adapted/train_metrics.json").read_text())
    assert card["subjects"] == [] and card["skipped"] == out.skipped
    assert reg.lineage["results/train_prior/adapted"][1:] == ("adapt_prior", [])
    assert out.summary()["adapted"] == 0 and "s0001" not in json.dumps(out.summary())
    out = run_adaptation(TrainPriorConfig(), AdaptPriorConfig(steps=3), HeadModelConfig(), root,
                         FakeRegistry({}))
    assert out.skipped == "no tracked subject with a train_prior consent"
    with pytest.raises(FileNotFoundError, match="dvc repro train_prior"):
        (root / "results/train_prior/base/prior.pt").unlink()
        run_adaptation(TrainPriorConfig(), AdaptPriorConfig(), HeadModelConfig(), root, reg)
