"""A real-clip avatar end to end on a stand-in clip: inputs by expression FPS, inputs and held-out
last frames composited on black (captures keep their background), per-frame scores; and, marked
slow, the same path on a few frames of the real liveportrait_d3.mp4."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from headforge.evaluate.run import evaluate_bundle, real_splits, render_views
from headforge.invert.bundle import load_bundle
from headforge.invert.stage import invert_subject, load_prior, on_black, real_subject_inputs
from headforge.metrics import foreground, score_images
from headforge.prior.data import load_views
from headforge.prior.stage import load_head
from headforge.prior.train import train
from tests.invert.test_real_inputs import _clip
from tests.prior.helpers import HEAD, TINY_INVERT, TINY_TRAIN, training_views

GREY = 0.6


@pytest.fixture(scope="module")
def prior_ckpt(heads_manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    views, _ = training_views(heads_manifest)
    head, parts = load_head(HEAD)
    return train(TINY_TRAIN, views, tmp_path_factory.mktemp("prior"), head, parts).checkpoint


def _with_background(df: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """The clip's frames re-saved as RGB with a grey wall behind the head (as ingest writes
    captures: background kept, mask beside)."""
    folder.mkdir()
    paths = []
    for i, row in enumerate(df.itertuples()):
        with Image.open(row.path) as im:
            rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
        a = rgba[..., 3:]
        rgb = rgba[..., :3] * a + GREY * (1 - a)
        p = folder / f"{i:04d}.png"
        Image.fromarray((rgb * 255).round().astype(np.uint8)).save(p)
        paths.append(str(p))
    return df.assign(path=paths)


def test_real_clip_avatar_scores_its_held_out_tail_on_black(
        heads_manifest: Path, prior_ckpt: Path, tmp_path: Path) -> None:
    df, track = _clip(heads_manifest, tmp_path)
    df = _with_background(df, tmp_path / "frames")
    cfg = dataclasses.replace(TINY_INVERT, shots=3, test_frames=2)
    chosen = real_subject_inputs(df, "real_a", cfg, track)
    x, m = chosen.inputs.images, chosen.inputs.masks
    wall = m.expand_as(x) == 0
    assert wall.float().mean() > 0.2 and float(x[wall].abs().max()) < 1e-6  # grey wall gone
    assert float(x.max()) > 0.1

    prior = load_prior(prior_ckpt, HEAD, "cpu")
    out = invert_subject(prior, chosen, cfg, tmp_path / "bundle", "real_a", prior_ckpt)
    assert (out / "turntable_geometry.gif").is_file()
    bundle = load_bundle(out, prior)
    res = evaluate_bundle(bundle, df, track)["test_frames"]
    assert res["n_images"] == 2 and res["images"] == ["clip/0006/phone", "clip/0007/phone"]
    for method in ("prior", "baseline"):
        per = res["per_image"][method]
        assert len(per) == 2
        for k in ("psnr", "ssim", "l1"):
            assert res[method][k] == pytest.approx(np.mean([p[k] for p in per]))
    # the scores are those of renders against the composited held-out frames ...
    held = real_splits(df, bundle.card)["test_frames"]
    views = on_black(load_views(held, cfg.resolution, track, ["real_a"]))
    rgb, alpha = render_views(bundle.avatar, views)
    ref = score_images(rgb, views.images, foreground(views.masks, alpha))
    assert [s.psnr for s in ref] == pytest.approx([p["psnr"] for p in res["per_image"]["prior"]])
    # ... which is not what scoring against the frames with their wall would give
    raw = load_views(held, cfg.resolution, track, ["real_a"])
    wall = score_images(rgb, raw.images, foreground(raw.masks, alpha))
    assert all(abs(a.l1 - b.l1) > 1e-3 for a, b in zip(wall, ref, strict=True))


def test_synthetic_splits_keep_means_only(heads_manifest: Path, prior_ckpt: Path,
                                          tmp_path: Path) -> None:
    """Per-image lists are for the few real held-out frames; synthetic metrics stay compact."""
    from headforge.invert.stage import synthetic_subject_inputs
    from headforge.prior.data import read_manifest
    from tests.prior.helpers import held_out

    prior = load_prior(prior_ckpt, HEAD, "cpu")
    dfs = read_manifest(heads_manifest)
    subj = held_out(heads_manifest)[0]
    chosen = synthetic_subject_inputs(dfs, subj, TINY_INVERT, heads_manifest.parent)
    out = invert_subject(prior, chosen, TINY_INVERT, tmp_path / subj, subj, prior_ckpt,
                         baseline=False)
    res = evaluate_bundle(load_bundle(out, prior), dfs, heads_manifest.parent)
    assert "per_image" not in res["novel_view"] and "prior" in res["novel_view"]
    res = evaluate_bundle(load_bundle(out, prior), dfs, heads_manifest.parent, per_image=True)
    assert len(res["novel_view"]["per_image"]["prior"]) == res["novel_view"]["n_images"]


@pytest.mark.slow
def test_real_video_to_scored_avatar(realdata: Path, heads_manifest: Path, prior_ckpt: Path,
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """liveportrait_d3.mp4 -> ingest (consented video, 7 frames) -> track -> 3-shot avatar ->
    scores on the 2 held-out last frames; every file stays under tmp_path."""
    from headforge.config import IngestConfig, TrackConfig
    from headforge.ingest import ingest_subjects
    from headforge.prior.data import read_manifest
    from headforge.privacy import Registry, Scope
    from headforge.track.stage import read_subjects, run_subject

    root = tmp_path / "project"
    (root / "inbox" / "s-d3").mkdir(parents=True)
    (root / "params.yaml").write_text("profile: tiny\n")
    monkeypatch.setenv("HEADFORGE_ROOT", str(root))
    monkeypatch.setenv("HEADFORGE_REGISTRY_URL", f"sqlite:///{root / 'registry.sqlite'}")
    shutil.copy(realdata / "liveportrait_d3.mp4", root / "inbox" / "s-d3" / "clip.mp4")
    icfg = IngestConfig(resolution=128, video_fps=0.6, max_frames=7, max_workers=1)
    tcfg = TrackConfig(steps_rigid=30, steps_landmarks=60, steps_dense=0, overlays=0,
                       landmark_cache="")
    with Registry.from_config(root) as reg:
        reg.add_subject("s-d3")
        reg.grant("s-d3", Scope.CAPTURE, evidence="test: internal footage")
        assert ingest_subjects(["s-d3"], icfg, reg, root).rows == 7
        views = read_subjects(root / "data/captures/manifest.parquet", root)["s-d3"]
        outcome = run_subject("s-d3", views, tcfg, HEAD, root, reg)
    assert outcome.report["status_counts"].get("ok", 0) >= 6
    df = read_manifest(root / "data/captures/manifest.parquet")
    cfg = dataclasses.replace(TINY_INVERT, shots=3, test_frames=2, resolution=32)
    chosen = real_subject_inputs(df, "s-d3", cfg, root / "results/track")
    tracked = sorted(p.stem for p in (root / "results/track/s-d3/flame_params").glob("*.npz"))
    assert chosen.card["test_frames"] == [t.rsplit("_", 1)[-1] for t in tracked[-2:]]
    assert len(chosen.card["input_frames"]) == 3
    prior = load_prior(prior_ckpt, HEAD, "cpu")
    out = invert_subject(prior, chosen, cfg, root / "results/invert/s-d3", "s-d3", prior_ckpt)
    res = evaluate_bundle(load_bundle(out, prior), df, root / "results/track")["test_frames"]
    assert res["n_images"] == 2
    for method in ("prior", "baseline"):
        assert 0 < res[method]["psnr"] < 60 and 0 <= res[method]["l1"] <= 1
    card = json.loads((out / "card.json").read_text())
    assert card["kind"] == "real" and card["n_inputs"] == 3
    assert torch.isfinite(torch.tensor([s["final_loss"] for s in card["stages"]])).all()
