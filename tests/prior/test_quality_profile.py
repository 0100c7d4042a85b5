"""The ``quality`` profile: its sizes, and a 2-step smoke run of its prior on tiny data."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from headforge.context import parse_params
from headforge.params_loader import read_params
from headforge.prior.checkpoint import load_checkpoint, prior_from_checkpoint
from headforge.prior.stage import load_head, synthetic_training_views
from headforge.prior.train import TrainCallback, train

ROOT = Path(__file__).resolve().parents[2]


def quality():
    return parse_params(read_params(ROOT / "params.yaml"), profile="quality")


def test_quality_profile_sizes_are_between_tiny_and_paper() -> None:
    q = quality()
    assert q.synth.identities >= 100 and q.synth.expressions >= 8 and q.synth.cameras >= 16
    assert min(q.synth.width, q.synth.height) >= 128 and q.train_prior.resolution >= 128
    assert q.invert.resolution >= 256
    assert q.train_prior.encoder and q.train_prior.sh_degree == 0
    assert q.train_prior.hair_density > q.train_prior.face_density


def test_two_quality_steps_train_checkpoint_and_rebuild(heads_manifest: Path,
                                                        tmp_path: Path) -> None:
    q = quality()
    cfg = dataclasses.replace(q.train_prior, steps=2, checkpoint_every=1, device="cpu",
                              batch=2)
    views, _ = synthetic_training_views(cfg, 1, manifest=heads_manifest)
    head, parts = load_head(q.head_model)
    res = train(cfg, views, tmp_path, head, parts)
    assert res.steps == 2 and res.n_gaussians >= 15_000
    assert all(h["loss"] == h["loss"] for h in res.history)  # finite
    assert set(res.last_step_seconds) == {"data", "decode", "rasterize", "loss", "backward"}
    ck = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert ck["step"] == 2 and ck["encoder"] and "optimizer" in ck
    prior = prior_from_checkpoint(load_checkpoint(res.checkpoint), head, parts)
    assert prior.encoder is not None and prior.n_gaussians == res.n_gaussians
    parts_count = prior.part_counts()
    assert parts_count["scalp"] > parts_count["ears"]
    # a run killed after its first checkpoint resumes there and follows the same losses
    # (the encoder's photo sampling draws from the checkpointed generator)

    class Killed(Exception):
        pass

    class KillAfterFirst(TrainCallback):
        def on_checkpoint(self, step: int, path: Path) -> None:
            if step == 1:
                raise Killed

    out = tmp_path / "killed"
    try:
        train(cfg, views, out, head, parts, callbacks=[KillAfterFirst()])
    except Killed:
        pass
    resumed = train(cfg, views, out, head, parts)
    assert resumed.resumed_from == 1
    got = [h["loss"] for h in resumed.history]
    want = [h["loss"] for h in res.history]
    assert abs(got[1] - want[1]) < 1e-4 * max(1.0, abs(want[1]))
