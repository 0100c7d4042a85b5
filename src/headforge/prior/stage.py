"""The ``train_prior`` stage as library calls: which data, which folders, which model.

``results/train_prior/base/`` holds the prior trained on synthetic identities only;
``results/train_prior/adapted/`` the adaptation on consented real subjects (the ``adapt_prior``
stage, :mod:`headforge.prior.adapt`), trained from the base checkpoint, so forgetting a real
subject retrains only the adaptation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from headforge.config import HeadModelConfig, TrainPriorConfig
from headforge.morphable import MorphableHead
from headforge.paths import data_dir, results_dir
from headforge.prior.data import (
    ViewSet,
    has_params,
    load_views,
    on_black,
    read_manifest,
    split_subjects,
)
from headforge.prior.train import TrainCallback, TrainResult, train


def load_head(cfg: HeadModelConfig) -> tuple[MorphableHead, tuple[str, ...]]:
    """The configured head model (eval mode, no gradients) and its part names."""
    from headforge.morphable import PART_NAMES, load_head_model

    head = load_head_model(cfg)
    for p in head.parameters():
        p.requires_grad_(False)
    return head.eval(), tuple(PART_NAMES)


def head_kwargs(cfg: HeadModelConfig) -> dict[str, Any]:
    """What a checkpoint records to rebuild the head model."""
    return asdict(cfg)


def base_dir(root: Path | None = None) -> Path:
    return results_dir("train_prior", root) / "base"


def adapted_dir(root: Path | None = None) -> Path:
    return results_dir("train_prior", root) / "adapted"


def synthetic_training_views(cfg: TrainPriorConfig, held_out: int, root: Path | None = None,
                             manifest: Path | None = None) -> tuple[ViewSet, list[str]]:
    """Views of the synthetic training identities (held-out ones removed) and the held-out
    subject names."""
    manifest = manifest or data_dir("synth", root) / "manifest.parquet"
    df = read_manifest(manifest)
    train_subj, test_subj = split_subjects(df, held_out)
    rows = df[df["subject"].isin(train_subj)]
    return load_views(rows, cfg.resolution, manifest.parent, train_subj), test_subj


def real_training_views(cfg: TrainPriorConfig, subjects: Sequence[str], root: Path | None = None
                        ) -> ViewSet | None:
    """Tracked frames of the given (consented) real subjects, or None when there are none."""
    manifest = data_dir("captures", root) / "manifest.parquet"
    track = results_dir("track", root)
    if not subjects or not manifest.is_file():
        return None
    df = read_manifest(manifest)
    rows = df[df["subject"].isin(list(subjects))]
    keep = [has_params(r, track) for _, r in rows.iterrows()]
    rows = rows[pd.Series(keep, index=rows.index, dtype=bool)]
    if len(rows) == 0:
        return None
    # composited on black like the inversion's real inputs (captures keep their background)
    return on_black(load_views(rows, cfg.resolution, track, sorted(rows["subject"].unique())))


def train_base(cfg: TrainPriorConfig, head_cfg: HeadModelConfig, held_out: int,
               root: Path | None = None, callbacks: Sequence[TrainCallback] = (),
               manifest: Path | None = None) -> TrainResult:
    """Train (or resume) the base prior on synthetic identities."""
    views, _ = synthetic_training_views(cfg, held_out, root, manifest)
    head, parts = load_head(head_cfg)
    return train(cfg, views, base_dir(root), head, parts, callbacks=callbacks,
                 head_model=head_kwargs(head_cfg))
