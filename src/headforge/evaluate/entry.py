"""The ``evaluate`` stage's one entry: score every avatar bundle on its held-out images.

``run(ctx)`` writes ``results/evaluate/metrics.json`` (per subject and mean, prior vs no-prior
baseline) and one image grid per bundle; the flow and the CLI call it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from headforge.context import Context
from headforge.evaluate.run import evaluate_bundle, summarise
from headforge.fanout import Each, failure_message, serial
from headforge.invert.bundle import load_bundle
from headforge.invert.stage import load_prior
from headforge.io_utils import sha256_file, write_text_atomic
from headforge.prior.data import read_manifest


def bundles(ctx: Context) -> list[Path]:
    """Bundle folders under ``results/invert`` (those with a ``card.json``)."""
    inv = ctx.results("invert")
    return sorted(p for p in inv.iterdir() if (p / "card.json").is_file()) if inv.is_dir() else []


def evaluate_one(ctx: Context, bundle_dir: Path, grid: Path | None = None) -> dict[str, Any]:
    """Scores of one avatar bundle (and its baseline) on the subject's held-out images; the
    image grid goes to ``grid`` (default ``results/evaluate/grids/<bundle>.png``)."""
    card = json.loads((bundle_dir / "card.json").read_text())
    ckpt = ctx.path(card["prior_checkpoint"]["path"])
    if sha256_file(ckpt) != card["prior_checkpoint"]["sha256"]:
        raise ValueError(f"{ckpt} changed since {bundle_dir.name} was inverted: rerun invert")
    prior = load_prior(ckpt, ctx.params.head_model, str(ctx.device))
    bundle = load_bundle(bundle_dir, prior)
    if card.get("kind") == "synthetic":
        man = ctx.data("synth") / "manifest.parquet"
        params_root = man.parent
    else:
        man = ctx.data("captures") / "manifest.parquet"
        params_root = ctx.results("track")
    grid = grid or ctx.results("evaluate") / "grids" / f"{bundle_dir.name}.png"
    return evaluate_bundle(bundle, read_manifest(man), params_root, grid,
                           ctx.params.evaluate.grid_views)


def run(ctx: Context, each: Each | None = None) -> Path:
    """Score every bundle; writes and returns ``results/evaluate/metrics.json``."""
    found = {b.name: b for b in bundles(ctx)}
    runner = each or serial(lambda name: (name, evaluate_one(ctx, found[name])))
    done, failed = runner(list(found))
    if failed:
        raise RuntimeError(failure_message("evaluate", failed))
    per_subject = dict(done)
    path = ctx.results("evaluate") / "metrics.json"
    write_text_atomic(path, json.dumps({"mean": summarise(per_subject),
                                        "per_subject": per_subject}, indent=2))
    return path
