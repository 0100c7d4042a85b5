"""Prefect tasks of the ``invert`` stage: one avatar bundle per subject."""

from __future__ import annotations

from pathlib import Path

import torch
from prefect import get_run_logger, task

from headforge.config import (
    HeadModelConfig,
    InvertConfig,
    TrainPriorConfig,
    load_section,
    read_params,
)
from headforge.invert.stage import (
    invert_subject,
    load_prior,
    real_subject_inputs,
    synthetic_subject_inputs,
)
from headforge.paths import data_dir, results_dir
from headforge.prior.data import read_manifest
from headforge.prior.stage import adapted_dir, base_dir
from headforge.progress import ProgressBoard, StageProgress


def _prior_path(root: Path, real: bool) -> Path:
    adapted = adapted_dir(root) / "prior.pt"
    return adapted if real and adapted.is_file() else base_dir(root) / "prior.pt"


@task(name="invert-subject")
def invert_one(root: Path, subject: str, real: bool, threads: int = 0) -> str:
    """Invert one subject (synthetic held-out identity or tracked real clip) to a bundle.

    Reads ``root``'s params.yaml (a Dask worker process may run elsewhere in the tree);
    ``threads`` > 0 sets torch's intra-op threads in the process that runs it.
    """
    if threads > 0:
        torch.set_num_threads(threads)
    params = read_params(Path(root) / "params.yaml")
    cfg = load_section(InvertConfig, "invert", params)
    device = load_section(TrainPriorConfig, "train_prior", params).device
    ckpt = _prior_path(root, real)
    prior = load_prior(ckpt, load_section(HeadModelConfig, "head_model", params), device)
    if real:
        df = read_manifest(data_dir("captures", root) / "manifest.parquet")
        chosen = real_subject_inputs(df, subject, cfg, results_dir("track", root))
    else:
        manifest = data_dir("synth", root) / "manifest.parquet"
        chosen = synthetic_subject_inputs(read_manifest(manifest), subject, cfg,
                                          manifest.parent)
    with ProgressBoard(log=get_run_logger().info) as board:
        steps = StageProgress(board, subject)
        out = invert_subject(prior, chosen, cfg, results_dir("invert", root) / subject, subject,
                             ckpt, callback=steps)
        steps.close()
    return str(out)
