"""The ``adapt_prior`` stage: the base prior adapted to consented, tracked real subjects.

The adaptation starts from ``results/train_prior/base/prior.pt`` and trains on the tracked
frames of every real subject that holds an active ``train_prior`` consent; it is written to
``results/train_prior/adapted/`` together with a lineage record naming exactly those subjects,
so that forgetting one of them deletes the adapted model and retrains only this stage (the
synthetic base is never touched). With ``adapt_prior.steps: 0`` or no eligible subject the
folder holds just ``train_metrics.json`` saying why, and invert falls back to the base prior.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from headforge.config import AdaptPriorConfig, HeadModelConfig, TrainPriorConfig
from headforge.io_utils import sha256_file, write_text_atomic
from headforge.paths import data_dir, results_dir
from headforge.prior.stage import adapted_dir, base_dir, real_training_views
from headforge.prior.train import TrainCallback, TrainResult

STAGE = "adapt_prior"
CONSENT_SCOPE = "train_prior"
"""The consent a subject needs before a shared model is trained on its data."""


class AdaptRegistry(Protocol):
    """What the adaptation needs of :class:`headforge.privacy.Registry`."""

    def has_consent(self, subject_id: str, scope: Any) -> bool: ...
    def record_lineage(self, artifact: str | Path, sha256: str, stage: str,
                       subject_ids: Sequence[str]) -> None: ...


@dataclasses.dataclass
class AdaptOutcome:
    """What one run of the stage did."""

    subjects: list[str]
    """Real subjects the adapted prior was trained on (empty when skipped)."""
    skipped: str | None
    """Why no adaptation was trained (None: trained)."""
    excluded: list[str]
    """Tracked subjects left out for want of a ``train_prior`` consent."""
    checkpoint: Path | None
    """``adapted/prior.pt`` (None when skipped)."""
    seconds: float
    """Wall time of the stage."""

    def summary(self) -> dict[str, Any]:
        """Counts only (no subject ids): what the flow returns and logs."""
        return {"adapted": len(self.subjects), "excluded": len(self.excluded),
                "skipped": self.skipped, "seconds": round(self.seconds, 2)}


def tracked_subjects(root: Path) -> list[str]:
    """Real subjects with tracking output that are still in the captures manifest."""
    track = results_dir("track", root)
    manifest = data_dir("captures", root) / "manifest.parquet"
    if not track.is_dir() or not manifest.is_file():
        return []
    import pandas as pd

    known = set(pd.read_parquet(manifest, columns=["subject"])["subject"].astype(str))
    return sorted(p.name for p in track.iterdir()
                  if (p / "flame_params").is_dir() and p.name in known)


def eligible_subjects(candidates: Sequence[str], cfg: AdaptPriorConfig,
                      registry: AdaptRegistry | None) -> tuple[list[str], list[str]]:
    """(subjects to adapt to, subjects excluded for want of a ``train_prior`` consent)."""
    if not cfg.require_consent:
        return sorted(candidates), []
    if registry is None:
        raise ValueError("adapt_prior.require_consent is true but no registry was given: "
                         "pass Registry.from_config(root) or set require_consent: false")
    keep = [s for s in sorted(candidates) if registry.has_consent(s, CONSENT_SCOPE)]
    return keep, sorted(set(candidates) - set(keep))


def run_adaptation(cfg: TrainPriorConfig, adapt_cfg: AdaptPriorConfig,
                   head_cfg: HeadModelConfig, root: Path,
                   registry: AdaptRegistry | None = None,
                   callbacks_for: Callable[[Path], Sequence[TrainCallback]] | None = None,
                   ) -> AdaptOutcome:
    """Train ``results/train_prior/adapted/`` from the base checkpoint; record its lineage.

    The folder is rebuilt from scratch on every run (a resumed checkpoint of other subjects'
    data must never leak into a model trained without them); ``callbacks_for(folder)`` is
    called once it exists and returns the progress callbacks of the training run.
    """
    t0 = time.perf_counter()
    base = base_dir(root) / "prior.pt"
    if not base.is_file():
        raise FileNotFoundError(f"base prior not found at {base}: run `dvc repro train_prior`")
    out = adapted_dir(root)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    subjects, excluded = eligible_subjects(tracked_subjects(root), adapt_cfg, registry)
    skipped: str | None = None
    res: TrainResult | None = None
    if adapt_cfg.steps <= 0:
        skipped = "adapt_prior.steps is 0"
    elif not subjects:
        skipped = "no tracked subject with a train_prior consent"
    else:
        callbacks = callbacks_for(out) if callbacks_for is not None else ()
        res = train_adapted(cfg, adapt_cfg, head_cfg, subjects, root, callbacks)
        if res is None:
            skipped = "no tracked frames with parameters"
    if res is None:
        write_text_atomic(out / "train_metrics.json", json.dumps(
            {"skipped": skipped, "subjects": [], "base": {"sha256": sha256_file(base)}},
            indent=2))
        subjects = []
    rel = out.relative_to(root).as_posix()
    if registry is not None:  # the folder as one artifact: every file holds these subjects
        registry.record_lineage(rel, sha256_file(out / "train_metrics.json"), STAGE, subjects)
    return AdaptOutcome(subjects=subjects, skipped=skipped, excluded=excluded,
                        checkpoint=res.checkpoint if res is not None else None,
                        seconds=time.perf_counter() - t0)


def train_adapted(cfg: TrainPriorConfig, adapt_cfg: AdaptPriorConfig, head_cfg: HeadModelConfig,
                  subjects: Sequence[str], root: Path | None = None,
                  callbacks: Sequence[TrainCallback] = ()) -> TrainResult | None:
    """Adapt the base prior to ``subjects`` (None when off or they have no tracked frames)."""
    from headforge.prior.stage import head_kwargs, load_head
    from headforge.prior.train import train

    if adapt_cfg.steps <= 0:
        return None
    views = real_training_views(cfg, subjects, root)
    if views is None:
        return None
    head, parts = load_head(head_cfg)
    return train(cfg, views, adapted_dir(root), head, parts, steps=adapt_cfg.steps,
                 lr=adapt_cfg.lr, base_checkpoint=base_dir(root) / "prior.pt",
                 callbacks=callbacks, head_model=head_kwargs(head_cfg))
