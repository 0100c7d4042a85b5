"""Prefect tasks of the ``evaluate`` stage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import task

from headforge.config import EvaluateConfig, HeadModelConfig, TrainPriorConfig, load_section
from headforge.evaluate.run import evaluate_bundle, summarise
from headforge.invert.bundle import load_bundle
from headforge.invert.stage import load_prior
from headforge.io_utils import sha256_file, write_text_atomic
from headforge.paths import data_dir, results_dir
from headforge.prior.data import read_manifest


@task(name="evaluate-subject")
def evaluate_subject(root: Path, bundle_dir: Path) -> dict[str, Any]:
    """Scores of one avatar bundle (and its baseline) on the subject's held-out images."""
    card = json.loads((bundle_dir / "card.json").read_text())
    ckpt = Path(card["prior_checkpoint"]["path"])
    ckpt = ckpt if ckpt.is_absolute() else root / ckpt
    if sha256_file(ckpt) != card["prior_checkpoint"]["sha256"]:
        raise ValueError(f"{ckpt} changed since {bundle_dir.name} was inverted: rerun invert")
    prior = load_prior(ckpt,
                       load_section(HeadModelConfig, "head_model"),
                       load_section(TrainPriorConfig, "train_prior").device)
    bundle = load_bundle(bundle_dir, prior)
    if card.get("kind") == "synthetic":
        man = data_dir("synth", root) / "manifest.parquet"
        params_root = man.parent
    else:
        man = data_dir("captures", root) / "manifest.parquet"
        params_root = results_dir("track", root)
    cfg = load_section(EvaluateConfig, "evaluate")
    grid = results_dir("evaluate", root) / "grids" / f"{bundle_dir.name}.png"
    return evaluate_bundle(bundle, read_manifest(man), params_root, grid, cfg.grid_views)


@task(name="write-metrics")
def write_metrics(root: Path, per_subject: dict[str, dict[str, Any]]) -> Path:
    """``results/evaluate/metrics.json``: per subject and mean, prior vs baseline."""
    path = results_dir("evaluate", root) / "metrics.json"
    write_text_atomic(path, json.dumps({"mean": summarise(per_subject),
                                        "per_subject": per_subject}, indent=2))
    return path
