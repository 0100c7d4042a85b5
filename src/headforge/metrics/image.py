"""PSNR, SSIM and L1 of each image of a batch on its foreground, and their means.

Images are ``[H, W, 3]`` or ``[B, H, W, 3]`` floats in [0, 1]; masks ``[..., H, W, 1]`` in
{0, 1} (see :func:`headforge.metrics.foreground.foreground`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from torch import Tensor

from headforge.metrics.foreground import batch
from headforge.metrics.l1 import l1
from headforge.metrics.psnr import psnr
from headforge.metrics.ssim import masked_ssim, ssim_map


@dataclass(frozen=True)
class ImageScores:
    """Foreground scores of one prediction against its ground truth."""

    psnr: float
    """Peak signal-to-noise ratio in dB over foreground pixels (peak 1.0)."""
    ssim: float
    """Mean SSIM over foreground pixels."""
    l1: float
    """Mean absolute error over foreground pixels and channels."""
    lpips: float | None = None
    """LPIPS distance when its weights were found locally, else None."""

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


def score_images(pred: Tensor, gt: Tensor, fg: Tensor) -> list[ImageScores]:
    """Score each image of a batch. pred, gt: ``[B, H, W, 3]``; fg: ``[B, H, W, 1]`` in {0, 1}."""
    pred, gt, fg = batch(pred), batch(gt), batch(fg)
    if pred.shape != gt.shape or fg.shape[:3] != pred.shape[:3]:
        raise ValueError(f"score_images: shapes differ: pred {tuple(pred.shape)}, "
                         f"gt {tuple(gt.shape)}, fg {tuple(fg.shape)}")
    pred = pred.clamp(0, 1).float()
    gt, fg = gt.float(), fg.float()
    smap = ssim_map(pred, gt)
    return [ImageScores(psnr=psnr(pred[i], gt[i], fg[i]), ssim=masked_ssim(smap[i], fg[i]),
                        l1=l1(pred[i], gt[i], fg[i])) for i in range(pred.shape[0])]


def mean_scores(scores: list[ImageScores]) -> dict[str, float]:
    """Mean of each metric over a list (LPIPS only when every entry has it)."""
    if not scores:
        raise ValueError("mean_scores: no scores to average")
    out = {
        "psnr": sum(s.psnr for s in scores) / len(scores),
        "ssim": sum(s.ssim for s in scores) / len(scores),
        "l1": sum(s.l1 for s in scores) / len(scores),
    }
    lp = [s.lpips for s in scores]
    if all(v is not None for v in lp):
        out["lpips"] = sum(v for v in lp if v is not None) / len(lp)
    return out
