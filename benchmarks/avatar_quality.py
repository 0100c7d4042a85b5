"""Benchmark: feed-forward, tuned and no-prior avatars scored on held-out images.

For each subject: the inputs the ``invert`` stage would pick (synthetic: ``shots`` frontal
views of one expression; real clip: frames by expression FPS, the last ``test_frames`` held
out), then

* ``feedforward``: the identity encoder's code + the photos' colours, no optimisation
  (:func:`headforge.invert.feedforward.feedforward_avatar`);
* ``tuned``: pivotal tuning from it (:func:`headforge.invert.core.invert`);
* ``baseline``: the no-prior Gaussians fitted for the tuning's wall time;

scored (PSNR / SSIM / L1 on the foreground, :mod:`headforge.evaluate.metrics`) on the held-out
images: synthetic ``novel_view`` / ``novel_expression``, real ``test_frames``. ``--grid``
writes GT | feed-forward | tuned | baseline panels (keep renders of real clips out of git).

    benchmarks/avatar_quality.py --prior P.pt --manifest data/synth/manifest.parquet
    benchmarks/avatar_quality.py --prior P.pt --project WORK/project --subject s-real-x

Prints one JSON object as its last line (wall and CPU seconds; the machine may be shared).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prior", type=Path, required=True, help="prior checkpoint")
    ap.add_argument("--manifest", type=Path, help="synthetic manifest (held-out subjects)")
    ap.add_argument("--held-out", type=int, default=2, help="synthetic subjects scored")
    ap.add_argument("--project", type=Path, help="project root with captures + track results")
    ap.add_argument("--subject", default=None, help="real subject id in --project")
    ap.add_argument("--profile", default="tiny", help="params.yaml profile of the invert cfg")
    ap.add_argument("--steps", type=int, nargs=2, default=None, metavar=("LATENT", "DECODER"))
    ap.add_argument("--resolution", type=int, default=None, help="inversion resolution")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--no-photo-colours", action="store_true",
                    help="leave the photos' colours out (invert.photo_colours: false)")
    ap.add_argument("--input-rule", default=None, choices=["calm_views", "expression_spread"],
                    help="how a real clip's inputs are chosen (invert.input_rule)")
    ap.add_argument("--grid", type=Path, default=None, help="folder for GT/ff/tuned/baseline grids")
    args = ap.parse_args()

    import numpy as np
    import torch

    from headforge.context import parse_params
    from headforge.evaluate.run import real_splits, render_views, save_grid, synthetic_splits
    from headforge.invert.baseline import fit_baseline
    from headforge.invert.bundle import to_uint8
    from headforge.invert.core import invert
    from headforge.invert.feedforward import feedforward_avatar
    from headforge.invert.stage import (
        load_prior,
        real_subject_inputs,
        synthetic_subject_inputs,
    )
    from headforge.metrics.foreground import foreground
    from headforge.metrics.image import mean_scores, score_images
    from headforge.params_loader import read_params
    from headforge.prior.data import load_views, on_black, read_manifest, split_subjects

    torch.set_num_threads(args.threads)
    params = parse_params(read_params(ROOT / "params.yaml"), profile=args.profile)
    cfg = params.invert
    if args.steps is not None:
        cfg = dataclasses.replace(cfg, steps_latent=args.steps[0], steps_decoder=args.steps[1])
    if args.resolution is not None:
        cfg = dataclasses.replace(cfg, resolution=args.resolution)
    if args.input_rule is not None:
        cfg = dataclasses.replace(cfg, input_rule=args.input_rule)
    if args.no_photo_colours:
        cfg = dataclasses.replace(cfg, photo_colours=False)
    prior = load_prior(args.prior, params.head_model, "cpu")
    jobs: list[tuple[str, Any, Any, Path, bool]] = []
    if args.manifest is not None:
        df = read_manifest(args.manifest)
        for s in split_subjects(df, args.held_out)[1]:
            jobs.append((s, df, synthetic_subject_inputs(df, s, cfg, args.manifest.parent),
                         args.manifest.parent, False))
    if args.project is not None:
        if not args.subject:
            raise SystemExit("--project needs --subject")
        df = read_manifest(args.project / "data" / "captures" / "manifest.parquet")
        track = args.project / "results" / "track"
        jobs.append((args.subject, df, real_subject_inputs(df, args.subject, cfg, track),
                     track, True))
    if not jobs:
        raise SystemExit("give --manifest and/or --project")
    out: dict[str, Any] = {}
    for subject, df, chosen, params_root, real in jobs:
        torch.manual_seed(0)
        ff = feedforward_avatar(prior, chosen.inputs, photo_colours=cfg.photo_colours)
        c0 = time.process_time()
        inv = invert(prior, chosen.inputs, cfg)
        tune_cpu = time.process_time() - c0
        base = fit_baseline(prior, chosen.inputs, cfg, seconds=inv.seconds)
        models = {"feedforward": ff.avatar, "tuned": inv.avatar, "baseline": base.model}
        rows = df[df["subject"] == subject]
        splits = (real_splits if real else synthetic_splits)(rows, chosen.card)
        res = int(chosen.inputs.images.shape[1])
        rec: dict[str, Any] = {
            "inputs": chosen.inputs.names, "resolution": res,
            "feedforward_seconds": round(ff.seconds, 2),
            "tuning_seconds": round(inv.seconds, 2), "tuning_cpu_seconds": round(tune_cpu, 2),
            "tuning_steps": {s.name: s.steps_run for s in inv.stages},
            "baseline_steps": base.stage.steps_run,
        }
        for split, sel in splits.items():
            if len(sel) == 0:
                continue
            views = load_views(sel, res, params_root, [subject])
            if real:
                views = on_black(views)
            rec[split] = {"n_images": len(views)}
            renders = {}
            for name, model in models.items():
                rgb, alpha = render_views(model, views)
                renders[name] = rgb
                rec[split][name] = {k: round(v, 4) for k, v in mean_scores(score_images(
                    rgb, views.images, foreground(views.masks, alpha))).items()}
            if args.grid is not None:
                args.grid.mkdir(parents=True, exist_ok=True)
                pick = np.linspace(0, len(views) - 1, min(4, len(views))).round().astype(int)
                cols = [[to_uint8(views.images[i])] + [to_uint8(renders[m][i]) for m in models]
                        for i in pick]
                save_grid(cols, args.grid / f"{subject}_{split}.png")
        out[subject] = rec
    print(json.dumps({"benchmark": "avatar_quality", "prior": args.prior.name,
                      "profile": args.profile, "threads": args.threads,
                      "steps": [cfg.steps_latent, cfg.steps_decoder],
                      "photo_colours": cfg.photo_colours, "input_rule": cfg.input_rule,
                      "load_average_1min": round(os.getloadavg()[0], 2), "subjects": out}))


if __name__ == "__main__":
    main()
