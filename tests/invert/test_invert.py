from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from headforge.cameras import orbit_w2c
from headforge.invert.baseline import fit_baseline
from headforge.invert.bundle import drive, load_bundle, load_sequence
from headforge.invert.core import invert
from headforge.invert.stage import invert_subject, load_prior, synthetic_subject_inputs
from headforge.invert.views import frontal_views, pick_frames
from headforge.prior.data import read_manifest
from headforge.prior.stage import load_head
from headforge.prior.train import train
from tests.prior.helpers import HEAD, TINY_INVERT, TINY_TRAIN, held_out, training_views


@pytest.fixture(scope="module")
def prior_ckpt(heads_manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    views, _ = training_views(heads_manifest)
    head, parts = load_head(HEAD)
    out = tmp_path_factory.mktemp("prior")
    return train(TINY_TRAIN, views, out, head, parts).checkpoint


def _digest(tensors: list[torch.Tensor]) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().cpu().numpy().tobytes())
    return h.hexdigest()


def _inputs(manifest: Path, cfg=TINY_INVERT):
    df = read_manifest(manifest)
    return synthetic_subject_inputs(df, held_out(manifest)[0], cfg, manifest.parent)


def test_stage_one_never_updates_the_frozen_network(heads_manifest: Path, prior_ckpt: Path
                                                    ) -> None:
    prior = load_prior(prior_ckpt, HEAD, "cpu")
    chosen = _inputs(heads_manifest)
    frozen = [*prior.decoder.parameters(), prior.latents]
    before = _digest(frozen)
    cfg = dataclasses.replace(TINY_INVERT, steps_latent=4, steps_decoder=0)
    res = invert(prior, chosen.inputs, cfg)
    assert [s.name for s in res.stages] == ["latent"] and res.stages[0].steps_run == 4
    assert _digest(frozen) == before  # the prior's decoder and training codes
    assert _digest(list(res.avatar.decoder.parameters())) == _digest(
        list(prior.decoder.parameters()))  # the avatar's decoder copy too, in stage 1
    assert not torch.equal(res.avatar.latent, prior.mean_latent())  # the code moved
    # stage 2 tunes the copy only
    res2 = invert(prior, chosen.inputs, dataclasses.replace(TINY_INVERT, steps_decoder=3))
    assert _digest(frozen) == before
    assert _digest(list(res2.avatar.decoder.parameters())) != before


@pytest.fixture(scope="module")
def bundle(heads_manifest: Path, prior_ckpt: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Path:
    prior = load_prior(prior_ckpt, HEAD, "cpu")
    out = tmp_path_factory.mktemp("bundle") / "subj"
    return invert_subject(prior, _inputs(heads_manifest), TINY_INVERT, out, "subj", prior_ckpt)


def test_two_step_smoke_writes_a_complete_bundle(bundle: Path, prior_ckpt: Path) -> None:
    from headforge.splat.ply import read_ply

    prior = load_prior(prior_ckpt, HEAD, "cpu")
    out = bundle
    for name in ("decoder.pt", "latent.pt", "inputs.npz", "avatar.ply", "turntable.gif",
                 "baseline.pt", "card.json"):
        assert (out / name).is_file(), name
    card = json.loads((out / "card.json").read_text())
    assert [s["steps"] for s in card["stages"]] == [2, 2]
    assert card["n_inputs"] == 2 and card["kind"] == "synthetic"
    assert card["baseline"]["steps"] >= 1
    assert len(list((out / "renders").glob("view_*.png"))) == 8
    assert len(list((out / "renders").glob("expr_*.png"))) == 4
    assert read_ply(out / "avatar.ply").n == card["n_gaussians"] == prior.n_gaussians
    b = load_bundle(out, prior)
    torch.testing.assert_close(b.avatar.latent, torch.load(out / "latent.pt")["latent"])
    assert b.baseline is not None


def _sequence(folder: Path, n: int = 3) -> Path:
    folder.mkdir()
    for i in range(n):
        p = {k: np.zeros((1, d), np.float32) for k, d in
             {"shape": 50, "expr": 20, "rotation": 3, "neck_pose": 3, "jaw_pose": 3,
              "eyes_pose": 6, "translation": 3}.items()}
        p["jaw_pose"][0, 0] = 0.15 * i
        p["shape"][0] = 3.0  # the driver's identity must not leak into the avatar
        np.savez(folder / f"{i:06d}.npz", **p)
    return folder


def test_drive_renders_one_frame_per_tracked_file(bundle: Path, prior_ckpt: Path,
                                                  tmp_path: Path) -> None:
    prior = load_prior(prior_ckpt, HEAD, "cpu")
    avatar = load_bundle(bundle, prior).avatar
    names, seq = load_sequence(_sequence(tmp_path / "flame_params"))
    assert names == ["000000", "000001", "000002"]
    K = torch.tensor([[[40.0, 0, 16], [0, 40.0, 16], [0, 0, 1]]])
    w2c = torch.from_numpy(orbit_w2c(np.zeros(3), 0.7, 1)).float()
    frames = drive(avatar, seq, K, w2c, (32, 32))
    assert len(frames) == 3 and frames[0].shape == (32, 32, 3)
    assert np.abs(frames[0].astype(int) - frames[2].astype(int)).sum() > 0  # jaw moved
    g = avatar.gaussians({k: v[:1] for k, v in seq.items()})
    own = avatar.gaussians({**{k: v[:1] for k, v in seq.items()},
                            "shape": avatar.shape.view(1, -1)}, keep_shape=True)
    torch.testing.assert_close(g.means, own.means)  # the avatar keeps its own shape


def test_drive_command_writes_a_gif(bundle: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from headforge.invert.cli import app

    seq = _sequence(tmp_path / "driver")
    out = tmp_path / "driven.gif"
    r = CliRunner().invoke(app, ["drive", str(bundle), "--params", str(seq), "--out", str(out)])
    assert r.exit_code == 0, r.output
    from PIL import Image

    with Image.open(out) as im:
        assert im.n_frames == 3


def test_baseline_fits_for_its_time_budget(heads_manifest: Path, prior_ckpt: Path) -> None:
    """A fake clock that advances 0.5 s per reading: the 1.5 s budget ends after exactly
    three steps, however loaded the machine is."""
    prior = load_prior(prior_ckpt, HEAD, "cpu")
    ticks = iter(range(1000))
    res = fit_baseline(prior, _inputs(heads_manifest).inputs, TINY_INVERT, seconds=1.5,
                       clock=lambda: 0.5 * next(ticks))
    st = res.stage
    assert st.stopped_early and st.message == "time budget of 1.5 s reached"
    assert st.steps_run == 3 and st.seconds == 2.0  # start, 3 step checks, the final reading
    assert st.final["l1"] < st.initial["l1"]
    assert not any(p.requires_grad for p in prior.parameters())


def test_input_selection() -> None:
    w2c = orbit_w2c(np.zeros(3), 1.0, 8)  # azimuths 0, 45, ..., 315 degrees
    pick = frontal_views(w2c, np.zeros(3), 3, max_angle_deg=60.0)
    assert pick == [0, 1, 7]  # front, then both 45-degree views; never the 90-degree ones
    assert frontal_views(w2c, np.zeros(3), 3, max_angle_deg=10.0) == [0, 1, 7]  # fallback
    expr = np.array([[0.0], [0.1], [5.0], [0.2], [-5.0], [9.0], [9.0]])
    inp, test = pick_frames(expr, 3, 2, rule="expression_spread")
    assert test == [5, 6] and inp == [0, 2, 4]  # extremes of the pool, never the tail
    # calm_views: the calmest frontal frame, then the calm frames farthest apart in head pose
    expr = np.array([[3.0], [0.2], [0.1], [0.2], [4.0], [0.2], [9.0], [9.0]])
    rot = np.array([[0.0, 0.1, 0.0], [0.0, 0.4, 0.0], [0.0, 0.02, 0.0], [0.0, -0.3, 0.0],
                    [0.0, 0.0, 0.0], [0.0, 0.05, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    inp, test = pick_frames(expr, 3, 2, rot)
    assert test == [6, 7] and inp == [1, 2, 3]  # frame 2 first, then +0.4 and -0.3 rad
    assert pick_frames(expr, 1, 2, rot)[0] == [2]  # not 4 (frontal but grimacing)
    with pytest.raises(ValueError, match="input_rule"):
        pick_frames(expr, 3, 2, rule="nope")
    assert pick_frames(expr[:1], 3, 2) == ([0], [])  # a one-photo capture: input, nothing held out
    with pytest.raises(ValueError, match="at least 1 tracked frame"):
        pick_frames(expr[:0], 3, 2)
