"""Score avatar bundles against held-out ground truth; prior vs no-prior baseline.

Synthetic subjects (never seen by the prior) were inverted from a few views of one expression:
``novel_view`` scores the other cameras of that expression, ``novel_expression`` every camera
of the other expressions. Real monocular clips: ``test_frames`` scores the last frames, which
were never inputs (composited on black through their masks, as the inputs were). Every render uses the ground-truth (or tracked) camera and parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image

from headforge.invert.bundle import Drivable, LoadedBundle, to_uint8
from headforge.metrics import ImageScores, foreground, mean_scores, score_images
from headforge.prior.data import ViewSet, load_views, on_black

METHODS = ("prior", "baseline")


def render_views(model: Drivable, views: ViewSet) -> tuple[torch.Tensor, torch.Tensor]:
    """Render ``model`` under each view's parameters and camera -> (rgb, alpha) [M, H, W, .]."""
    dev = model.shape.device
    rgb, alpha = [], []
    r = views.resolution
    for i in range(len(views)):
        b = views.batch([i]).to(dev)
        out = model.render(b.params, b.K, b.w2c, r, r)
        rgb.append(out.rgb.cpu())
        alpha.append(out.alpha.cpu())
    return torch.cat(rgb), torch.cat(alpha)


def view_names(views: ViewSet) -> list[str]:
    """``sequence/frame/camera`` label of each view (from its manifest rows)."""
    r = views.rows
    return [f"{s}/{f}/{c}" for s, f, c in zip(r["sequence"], r["frame"], r["camera"],
                                              strict=True)]


def score_split(bundle: LoadedBundle, views: ViewSet, per_image: bool = False
                ) -> dict[str, Any]:
    """Mean foreground scores of the avatar and the baseline on ``views``; with
    ``per_image``, also each image's (``images``: labels; ``per_image``: method -> list
    aligned with them)."""
    out: dict[str, Any] = {"n_images": len(views)}
    if per_image:
        out["images"] = view_names(views)
        out["per_image"] = {}
    models: dict[str, Drivable | None] = {"prior": bundle.avatar, "baseline": bundle.baseline}
    renders = {}
    for name, model in models.items():
        if model is None:
            continue
        rgb, alpha = render_views(model, views)
        scores: list[ImageScores] = score_images(rgb, views.images,
                                                 foreground(views.masks, alpha))
        out[name] = mean_scores(scores)
        if per_image:
            out["per_image"][name] = [sc.as_dict() for sc in scores]
        renders[name] = rgb
    out["_renders"] = renders
    return out


def synthetic_splits(df: pd.DataFrame, card: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """Held-out rows of a synthetic subject: novel views and novel expressions."""
    seq, cams = card["sequence"], set(card["input_cameras"])
    same = df["sequence"] == seq
    return {
        "novel_view": df[same & ~df["camera"].isin(cams)],
        "novel_expression": df[~same],
    }


def real_splits(df: pd.DataFrame, card: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """Held-out rows of a real clip: its last frames."""
    test = set(card["test_frames"])
    rows = df[(df["sequence"] == card["sequence"]) & df["frame"].astype(str).isin(test)]
    return {"test_frames": rows}


def evaluate_bundle(bundle: LoadedBundle, df: pd.DataFrame, params_root: Path,
                    grid_path: Path | None = None, grid_views: int = 4,
                    per_image: bool | None = None) -> dict[str, Any]:
    """Scores per split for one subject; optionally an image grid (GT / prior / baseline).

    ``per_image`` (default: for real clips, whose few held-out frames are worth listing)
    adds every image's scores next to the means."""
    card = bundle.card
    if per_image is None:
        per_image = card.get("kind") == "real"
    subject = card["subject"]
    rows = df[df["subject"] == subject]
    split_fn: Callable[[pd.DataFrame, Mapping[str, Any]], dict[str, pd.DataFrame]] = (
        synthetic_splits if card.get("kind") == "synthetic" else real_splits)
    res = int(card["resolution"][0])
    result: dict[str, Any] = {}
    panels: list[list[np.ndarray]] = []
    for split, sel in split_fn(rows, card).items():
        if len(sel) == 0:
            continue
        views = load_views(sel, res, params_root, [subject])
        if card.get("kind") == "real":
            views = on_black(views)  # as the inputs were (captures keep their background)
        s = score_split(bundle, views, per_image)
        renders = s.pop("_renders")
        result[split] = s
        pick = np.linspace(0, len(views) - 1, min(grid_views, len(views))).round().astype(int)
        for i in pick:
            col = [to_uint8(views.images[i])]
            col += [to_uint8(renders[m][i]) for m in METHODS if m in renders]
            panels.append(col)
    if grid_path is not None and panels:
        save_grid(panels, grid_path)
    return result


def save_grid(columns: Sequence[Sequence[np.ndarray]], path: Path) -> None:
    """Columns of equally sized images side by side (rows: ground truth, prior, baseline)."""
    h, w = columns[0][0].shape[:2]
    rows = max(len(c) for c in columns)
    canvas = np.full((rows * h, len(columns) * w, 3), 255, np.uint8)
    for j, col in enumerate(columns):
        for i, img in enumerate(col):
            canvas[i * h:(i + 1) * h, j * w:(j + 1) * w] = img
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(canvas).save(path)


def summarise(per_subject: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Per-split means over subjects of each method's metrics, and the prior's PSNR gain."""
    splits: dict[str, dict[str, list[dict[str, float]]]] = {}
    for res in per_subject.values():
        for split, s in res.items():
            for m in METHODS:
                if m in s:
                    splits.setdefault(split, {}).setdefault(m, []).append(s[m])
    mean: dict[str, Any] = {}
    for split, by_method in splits.items():
        mean[split] = {
            m: {k: float(np.mean([v[k] for v in vals])) for k in vals[0]}
            for m, vals in by_method.items()
        }
        if "prior" in mean[split] and "baseline" in mean[split]:
            mean[split]["psnr_gain_db"] = (mean[split]["prior"]["psnr"]
                                           - mean[split]["baseline"]["psnr"])
    return mean
