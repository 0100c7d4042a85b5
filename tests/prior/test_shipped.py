"""Shipped priors: export to float16 with a recipe, load, and refuse a changed file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from headforge.config import HeadModelConfig, TrainPriorConfig
from headforge.prior.checkpoint import load_checkpoint, prior_from_checkpoint, save_checkpoint
from headforge.prior.shipped import MAX_BYTES, export, recipe, shipped_checkpoint, shipped_names
from headforge.prior.stage import load_head
from headforge.prior.train import build_prior


def test_export_writes_fp16_with_a_recipe_and_the_hash_guards_it(tmp_path: Path) -> None:
    head, parts = load_head(HeadModelConfig())
    prior = build_prior(TrainPriorConfig(latent_dim=4, uv_res=8, channels=4, encoder=True),
                        ["a"], head, parts)
    ck = save_checkpoint(tmp_path / "full.pt", prior, 5, {"optimizer": {"big": 1}})
    path = export(ck, "mini", {"profile": "test", "licence": "project"}, tmp_path / "ship")
    rec = recipe("mini", tmp_path / "ship")
    assert rec["steps"] == 5 and rec["dtype"] == "float16" and rec["bytes"] < MAX_BYTES
    assert shipped_checkpoint("mini", tmp_path / "ship") == path
    back = load_checkpoint(path)
    assert "optimizer" not in back and back["decoder"]["head.weight"].dtype == torch.float16
    again = prior_from_checkpoint(back, head, parts)
    for a, b in zip(again.parameters(), prior.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=2e-3, rtol=2e-3)
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ValueError, match="restore the file"):
        shipped_checkpoint("mini", tmp_path / "ship")


@pytest.mark.parametrize("name", shipped_names())
def test_every_shipped_prior_loads_and_matches_its_recorded_hash(name: str) -> None:
    rec = recipe(name)
    path = shipped_checkpoint(name)  # raises on a hash mismatch
    assert path.stat().st_size == rec["bytes"] <= MAX_BYTES
    assert rec["licence"] and rec["code_commit"] and rec["synthetic_data"]["sha256"]
    assert rec["training_curve"] and rec["params"]["train_prior"]
    from headforge.prior.shipped import load_shipped

    prior = load_shipped(name)
    assert prior.n_gaussians == rec["n_gaussians"]
    assert (prior.encoder is not None) == bool(rec["params"]["train_prior"]["encoder"])
