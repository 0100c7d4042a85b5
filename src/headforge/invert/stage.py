"""The ``invert`` stage as library calls: pick inputs, invert, fit the baseline, write bundles.

Synthetic held-out identities: ``shots`` views of one expression (the first sequence), the
most frontal camera plus farthest-point samples of the frontal ones. Real monocular clips:
``shots`` frames chosen by farthest-point sampling in expression space among all but the last
``test_frames`` frames (which evaluate scores), composited on black through their masks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from headforge.config import HeadModelConfig, InvertConfig
from headforge.context import resolve_device
from headforge.invert.baseline import fit_baseline
from headforge.invert.bundle import write_bundle
from headforge.invert.core import InversionInputs, StepCallback, invert
from headforge.invert.views import frontal_views, head_rotvec, pick_frames
from headforge.prior.checkpoint import load_checkpoint, prior_from_checkpoint
from headforge.prior.data import ViewSet, has_params, load_views, on_black
from headforge.prior.model import HeadPrior
from headforge.prior.stage import load_head


def load_prior(checkpoint: Path, head_cfg: HeadModelConfig, device: str = "auto") -> HeadPrior:
    """A trained prior on ``device``, frozen."""
    ck = load_checkpoint(checkpoint)
    head, parts = load_head(head_cfg)
    dev = resolve_device(device)
    prior = prior_from_checkpoint(ck, head.to(dev), parts).to(dev)
    for p in prior.parameters():
        p.requires_grad_(False)
    return prior.eval()


def inputs_from_views(views: ViewSet, names: list[str]) -> InversionInputs:
    return InversionInputs(images=views.images, masks=views.masks, K=views.K, w2c=views.w2c,
                           params=dict(views.params), names=names)


def native_size(df: pd.DataFrame) -> int:
    """Smallest image side in the rows (from the width/height columns, else the files)."""
    if {"width", "height"} <= set(df.columns):
        return int(min(df["width"].min(), df["height"].min()))
    from PIL import Image

    with Image.open(str(df["path"].iloc[0])) as im:
        return int(min(im.size))


@dataclass
class SubjectInputs:
    """Chosen inputs of one subject and what to record about the choice."""

    inputs: InversionInputs
    card: dict[str, Any]


def synthetic_subject_inputs(df: pd.DataFrame, subject: str, cfg: InvertConfig,
                             params_root: Path) -> SubjectInputs:
    """``shots`` views of the first expression of a synthetic subject."""
    rows = df[df["subject"] == subject]
    if len(rows) == 0:
        raise ValueError(f"subject {subject!r} is not in the synth manifest")
    seq = sorted(rows["sequence"].unique())[0]
    cand = rows[rows["sequence"] == seq].sort_values("camera").reset_index(drop=True)
    w2c = np.stack([np.asarray(w, dtype=np.float64).reshape(4, 4) for w in cand["w2c"]])
    pick = frontal_views(w2c, np.zeros(3), cfg.shots, cfg.input_max_angle)
    chosen = cand.iloc[pick]
    res = min(cfg.resolution, native_size(chosen))
    views = load_views(chosen, res, params_root, [subject])
    names = [f"{seq}/{c}" for c in chosen["camera"]]
    return SubjectInputs(inputs_from_views(views, names), {
        "kind": "synthetic", "sequence": seq, "input_cameras": list(chosen["camera"]),
    })


def real_subject_inputs(df: pd.DataFrame, subject: str, cfg: InvertConfig, track_root: Path
                        ) -> SubjectInputs:
    """Frames of a real monocular clip chosen by ``cfg.input_rule``; the last ones held out.

    The clip is the subject's first sequence seen by its most used camera, restricted to the
    frames tracking fitted, in frame order."""
    rows = df[df["subject"] == subject]
    if len(rows) == 0:
        raise ValueError(f"subject {subject!r} is not in the captures manifest")
    seq = sorted(rows["sequence"].unique())[0]
    rows = rows[rows["sequence"] == seq]
    cam = rows["camera"].value_counts().index[0]
    rows = rows[(rows["camera"] == cam)]
    rows = rows[[has_params(r, track_root) for _, r in rows.iterrows()]]
    if len(rows) < 1:
        raise ValueError(f"subject {subject!r}: no tracked frame in {seq}/{cam}; "
                         "run track first")
    order = sorted(range(len(rows)), key=lambda i: _frame_order(rows["frame"].iloc[i]))
    rows = rows.iloc[order].reset_index(drop=True)
    res = min(cfg.resolution, native_size(rows))
    views = on_black(load_views(rows, res, track_root, [subject]))
    expr = torch.cat([views.params["expr"], views.params["jaw_pose"]], -1).numpy()
    inp, test = pick_frames(expr, cfg.shots, cfg.test_frames,
                            head_rotvec(views.params["rotation"], views.w2c), cfg.input_rule)
    sel = views.select(np.isin(np.arange(len(rows)), inp))
    names = [f"{seq}/{f}" for f in rows["frame"].iloc[inp]]
    return SubjectInputs(inputs_from_views(sel, names), {
        "kind": "real", "sequence": seq, "input_rule": cfg.input_rule, "input_frames": [str(f) for f in rows["frame"].iloc[inp]],
        "test_frames": [str(f) for f in rows["frame"].iloc[test]],
    })


def _frame_order(frame: object) -> tuple[int, str]:
    s = str(frame)
    return (int(s), s) if s.isdigit() else (1 << 62, s)


def invert_subject(prior: HeadPrior, chosen: SubjectInputs, cfg: InvertConfig, out_dir: Path,
                   subject: str, prior_checkpoint: Path, baseline: bool = True,
                   callback: StepCallback | None = None, root: Path | None = None) -> Path:
    """Invert, fit the no-prior baseline for the same wall time, write the bundle.

    ``callback`` sees every optimisation step of both (e.g. a progress display).
    """
    torch.manual_seed(0)
    res = invert(prior, chosen.inputs, cfg, callback)
    base = fit_baseline(prior, chosen.inputs, cfg, seconds=res.seconds,
                        callback=callback) if baseline else None
    return write_bundle(out_dir, subject, res, chosen.inputs, prior_checkpoint, base,
                        cfg.turntable_frames, chosen.card, root)
