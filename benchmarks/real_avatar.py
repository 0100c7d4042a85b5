"""Benchmark: a 3-shot avatar of a real monocular clip, scored on its held-out last frames.

Everything runs through the pipeline's own library code in a throw-away project folder (the
real frames never enter the repository):

1. ``synth``: the tiny Blender synth set (``headforge.synth.build_dataset``), unless
   ``--prior`` names a trained checkpoint to reuse;
2. ``train_prior``: the base prior on it (``headforge.prior.stage.train_base``);
3. ``ingest``: ``../shared/realdata/liveportrait_d3.mp4`` as a consented monocular video
   capture (``headforge.ingest.ingest_subjects``: 2 fps, 24 frames, 256 px crops + masks);
4. ``track``: the tracker (``headforge.track.stage.run_subject``, MediaPipe landmarks);
5. ``invert``: 3 input frames by farthest-point sampling in expression space among all but the
   last ``test_frames`` (``headforge.invert.stage.real_subject_inputs``), pivotal tuning and
   the no-prior baseline for the same wall time (``invert_subject``);
6. ``evaluate``: PSNR / SSIM / L1 on the foreground of the held-out last frames
   (``headforge.evaluate.run.evaluate_bundle``), per frame and mean.

Budgets are the tiny profile's unless overridden (``--train-steps``, ``--steps``). With
``--docs`` the geometry-shaded turntable (grey clay, no learned colour: the footage may not be
shown) goes to ``docs/avatar/real_d3_turntable.gif``; the colour turntable and the image grid
go only to ``results/real_avatar/`` (git-ignored).

Run from the repo root: ``.venv/bin/python benchmarks/real_avatar.py [--docs]``.
Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from headforge.io_utils import write_text_atomic  # noqa: E402

CLIP = "liveportrait_d3.mp4"
SUBJECT = "s-real-d3"


def project(work: Path, train_steps: int | None, steps: tuple[int, int] | None,
            resolution: int) -> Path:
    """A project folder under ``work`` with the repo's params.yaml (tiny profile) plus the
    benchmark's overrides; every path the library resolves points into it."""
    root = work / "project"
    root.mkdir(parents=True, exist_ok=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["profile"] = "tiny"
    if train_steps is not None:
        params["train_prior"]["tiny"]["steps"] = train_steps
    if steps is not None:
        params["invert"]["tiny"]["steps_latent"], params["invert"]["tiny"]["steps_decoder"] = steps
    params["invert"]["tiny"]["resolution"] = resolution
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    os.environ["HEADFORGE_ROOT"] = str(root)
    os.environ["HEADFORGE_REGISTRY_URL"] = f"sqlite:///{root / 'registry' / 'headforge.sqlite'}"
    (root / "registry").mkdir(exist_ok=True)
    return root


def train_prior(root: Path) -> tuple[Path, dict[str, Any]]:
    """Render the tiny synth set and train the base prior on it."""
    from headforge.config import (
        EvaluateConfig,
        HeadModelConfig,
        SynthConfig,
        TrainPriorConfig,
        load_section,
    )
    from headforge.prior.stage import train_base
    from headforge.synth import build_dataset

    head = load_section(HeadModelConfig, "head_model")
    held = load_section(EvaluateConfig, "evaluate").held_out
    t0 = time.perf_counter()
    summary = build_dataset(load_section(SynthConfig, "synth"), root, held_out=held,
                            head_model=head)
    synth_s = time.perf_counter() - t0
    cfg = load_section(TrainPriorConfig, "train_prior")
    res = train_base(cfg, head, held, root)
    return res.checkpoint, {
        "source": "trained here on the tiny synth set (Blender, real synth stage)",
        "synth_images": summary.images, "synth_seconds": round(synth_s, 1),
        "steps": res.steps, "seconds": round(res.seconds, 1),
        "final_loss": round(res.history[-1]["loss"], 4) if res.history else None,
        "n_gaussians": res.n_gaussians,
    }


def ingest_and_track(root: Path, realdata: Path) -> dict[str, Any]:
    """Consent, ingest the clip as a video capture, track it."""
    from headforge.config import HeadModelConfig, IngestConfig, TrackConfig, load_section
    from headforge.ingest import ingest_subjects
    from headforge.privacy import Registry, Scope
    from headforge.track.stage import read_subjects, run_subject

    inbox = root / "inbox" / SUBJECT
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copy(realdata / CLIP, inbox / CLIP)
    icfg = load_section(IngestConfig, "ingest")
    tcfg = load_section(TrackConfig, "track")
    out: dict[str, Any] = {}
    with Registry.from_config(root) as reg:
        reg.add_subject(SUBJECT)
        for scope in (Scope.CAPTURE, Scope.AVATAR):
            reg.grant(SUBJECT, scope, evidence="benchmark: internal test footage")
        t0 = time.perf_counter()
        res = ingest_subjects([SUBJECT], icfg, reg, root)
        out["ingest"] = {"frames": res.rows, "fps": icfg.video_fps,
                         "resolution": icfg.resolution,
                         "seconds": round(time.perf_counter() - t0, 1)}
        views = read_subjects(root / "data" / "captures" / "manifest.parquet", root)[SUBJECT]
        t0 = time.perf_counter()
        outcome = run_subject(SUBJECT, views, tcfg, load_section(HeadModelConfig, "head_model"),
                              root, reg)
        out["track"] = {"status_counts": outcome.report["status_counts"],
                        "landmark_error_px": outcome.report["landmark_error"],
                        "seconds": round(time.perf_counter() - t0, 1)}
    return out


def invert_and_score(root: Path, ckpt: Path) -> tuple[Path, dict[str, Any]]:
    """Pick inputs, invert + baseline, score the held-out last frames."""
    from headforge.config import HeadModelConfig, InvertConfig, TrainPriorConfig, load_section
    from headforge.evaluate.run import evaluate_bundle
    from headforge.invert.bundle import load_bundle
    from headforge.invert.stage import invert_subject, load_prior, real_subject_inputs
    from headforge.prior.data import read_manifest

    cfg = load_section(InvertConfig, "invert")
    prior = load_prior(ckpt, load_section(HeadModelConfig, "head_model"),
                       load_section(TrainPriorConfig, "train_prior").device)
    df = read_manifest(root / "data" / "captures" / "manifest.parquet")
    track = root / "results" / "track"
    chosen = real_subject_inputs(df, SUBJECT, cfg, track)
    out_dir = root / "results" / "invert" / SUBJECT
    t0 = time.perf_counter()
    invert_subject(prior, chosen, cfg, out_dir, SUBJECT, ckpt)
    bundle_s = time.perf_counter() - t0
    bundle = load_bundle(out_dir, prior)
    scores = evaluate_bundle(bundle, df, track, root / "results" / "evaluate" / "grid.png",
                             grid_views=4, per_image=True)
    card = bundle.card
    return out_dir, {
        "config": {"shots": cfg.shots, "test_frames": cfg.test_frames,
                   "resolution": cfg.resolution, "steps_latent": cfg.steps_latent,
                   "steps_decoder": cfg.steps_decoder, "steps_per_frame": cfg.steps_per_frame},
        "input_frames": card["input_frames"], "test_frames": card["test_frames"],
        "prior_stages": [{k: s[k] for k in ("name", "steps", "seconds", "stopped_early")}
                         for s in card["stages"]],
        "prior_wall_seconds": round(card["wall_seconds"], 2),
        "baseline": {k: card["baseline"][k] for k in ("steps", "seconds")},
        "bundle_seconds": round(bundle_s, 1),
        "scores": scores,
    }


def turntables(bundle_dir: Path, ckpt: Path, frames: int, size: int, zoom_out: float = 1.5
               ) -> dict[str, Any]:
    """Prior | baseline side by side, geometry-shaded (docs) and in colour (results only),
    from ``zoom_out`` times the input cameras' distance (the inputs are tight face crops)."""
    import numpy as np
    import torch

    from headforge.config import HeadModelConfig, TrainPriorConfig, load_section
    from headforge.invert.bundle import load_bundle, turntable
    from headforge.invert.stage import load_prior
    from headforge.invert.views import camera_centres
    from headforge.prior.data import PARAM_KEYS

    prior = load_prior(ckpt, load_section(HeadModelConfig, "head_model"),
                       load_section(TrainPriorConfig, "train_prior").device)
    b = load_bundle(bundle_dir, prior)
    dev = b.avatar.shape.device
    first = {k: torch.from_numpy(b.inputs[k][:1]).float().to(dev) for k in PARAM_KEYS}
    K = torch.from_numpy(b.inputs["K"][:1]).float().to(dev)
    h = int(b.card["resolution"][0])
    K[:, :2] *= size / h
    w2c = torch.from_numpy(b.inputs["w2c"]).float()
    radius = zoom_out * float(camera_centres(w2c).norm(dim=-1).mean())
    out: dict[str, Any] = {}
    for shading, bg in (("geometry", 1.0), ("color", 0.0)):
        cols = [turntable(m, first, K, radius, frames, (size, size), shading, bg)
                for m in (b.avatar, b.baseline) if m is not None]
        out[shading] = [np.concatenate(fs, axis=1) for fs in zip(*cols, strict=True)]
    return out


def write_docs(root: Path, bundle_dir: Path, ckpt: Path) -> dict[str, str]:
    """The geometry-only turntable into docs/avatar/; colour renders into results/ only."""
    from headforge.invert.bundle import save_gif

    tt = turntables(bundle_dir, ckpt, 30, 160)
    save_gif(tt["geometry"], ROOT / "docs" / "avatar" / "real_d3_turntable.gif", fps=10.0)
    res_dir = ROOT / "results" / "real_avatar"  # git-ignored: renders of her appearance
    res_dir.mkdir(parents=True, exist_ok=True)
    save_gif(tt["color"], res_dir / "real_d3_turntable_color.gif", fps=10.0)
    shutil.copy(root / "results" / "evaluate" / "grid.png", res_dir / "grid.png")
    return {"turntable": "docs/avatar/real_d3_turntable.gif",
            "colour_turntable": "results/real_avatar/real_d3_turntable_color.gif",
            "grid": "results/real_avatar/grid.png"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--work", type=Path, default=None, help="work folder (default: temporary, "
                    "deleted at the end)")
    ap.add_argument("--prior", type=Path, default=None,
                    help="reuse this trained prior.pt (e.g. results/train_prior/base/prior.pt) "
                    "instead of rendering the synth set and training one")
    ap.add_argument("--train-steps", type=int, default=None, help="prior steps (default: tiny)")
    ap.add_argument("--steps", type=int, nargs=2, default=None, metavar=("LATENT", "DECODER"),
                    help="inversion steps per stage (default: tiny)")
    ap.add_argument("--resolution", type=int, default=128, help="inversion resolution")
    ap.add_argument("--realdata", type=Path, default=ROOT.parent / "shared" / "realdata")
    ap.add_argument("--docs", action="store_true", help="write docs/avatar/real_d3_turntable.gif "
                    "(geometry only) and results/real_avatar/ (colour, grid, metrics)")
    args = ap.parse_args()
    if not (args.realdata / CLIP).is_file():
        sys.exit(f"{args.realdata / CLIP} not found: pass --realdata <folder with {CLIP}>")

    import torch

    torch.set_num_threads(args.threads)
    keep = args.work is not None
    work = args.work or Path(tempfile.mkdtemp(prefix="hf-real-avatar-"))
    t_all = time.perf_counter()
    try:
        root = project(work, args.train_steps, tuple(args.steps) if args.steps else None,
                       args.resolution)
        if args.prior is not None:
            ckpt = args.prior.resolve()
            prior_info: dict[str, Any] = {"source": f"reused {args.prior}"}
        else:
            ckpt, prior_info = train_prior(root)
        prep = ingest_and_track(root, args.realdata)
        bundle_dir, inv = invert_and_score(root, ckpt)
        result: dict[str, Any] = {"benchmark": "real_avatar", "clip": CLIP,
                                  "threads": args.threads, "prior": prior_info, **prep, **inv}
        if args.docs:
            result["docs"] = write_docs(root, bundle_dir, ckpt)
        result["total_seconds"] = round(time.perf_counter() - t_all, 1)
        result["load_average_1min"] = round(os.getloadavg()[0], 2)
        if args.docs:
            write_text_atomic(ROOT / "results" / "real_avatar" / "metrics.json",
                              json.dumps(result, indent=1))
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
