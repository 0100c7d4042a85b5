"""Image metrics on the foreground: PSNR, SSIM, L1 (and LPIPS when its weights are local).

Images are ``[H, W, 3]`` or ``[B, H, W, 3]`` floats in [0, 1]; masks ``[..., H, W, 1]`` in
[0, 1]. "Foreground" is the union of the ground-truth mask and the rendered alpha (> 0.5), so a
render that spills outside the subject is penalised as well as one that misses part of it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor


def _gaussian_window(size: int, sigma: float, device: torch.device, dtype: torch.dtype) -> Tensor:
    x = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2.0
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return g  # [size]


def ssim_map(a: Tensor, b: Tensor, window: int = 11, sigma: float = 1.5) -> Tensor:
    """Per-pixel SSIM of two image batches ``[B, H, W, C]`` -> ``[B, H, W, 1]`` (channel mean).

    Gaussian-weighted local statistics (window 11, sigma 1.5, K1 0.01, K2 0.03), zero padding
    handled by normalising with the window mass so borders are not biased.
    """
    if a.shape != b.shape or a.dim() != 4:
        raise ValueError(f"ssim_map expects two [B,H,W,C] tensors of one shape, got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    c1, c2 = 0.01**2, 0.03**2
    x = a.permute(0, 3, 1, 2)
    y = b.permute(0, 3, 1, 2)
    ch = x.shape[1]
    g = _gaussian_window(window, sigma, x.device, x.dtype)
    kx = g.view(1, 1, 1, -1).expand(ch, 1, 1, window)
    ky = g.view(1, 1, -1, 1).expand(ch, 1, window, 1)
    pad = window // 2

    def blur(t: Tensor) -> Tensor:
        t = F.conv2d(F.pad(t, (pad, pad, 0, 0)), kx, groups=ch)
        return F.conv2d(F.pad(t, (0, 0, pad, pad)), ky, groups=ch)

    norm = blur(torch.ones_like(x[:, :1]).expand_as(x).contiguous())
    mx, my = blur(x) / norm, blur(y) / norm
    sxx = blur(x * x) / norm - mx * mx
    syy = blur(y * y) / norm - my * my
    sxy = blur(x * y) / norm - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return s.mean(dim=1, keepdim=True).permute(0, 2, 3, 1)


def _batch(t: Tensor) -> Tensor:
    return t.unsqueeze(0) if t.dim() == 3 else t


def foreground(gt_mask: Tensor, pred_alpha: Tensor | None = None) -> Tensor:
    """Binary foreground ``[B, H, W, 1]``: GT mask > 0.5, united with rendered alpha > 0.5."""
    fg = _batch(gt_mask) > 0.5
    if pred_alpha is not None:
        fg = fg | (_batch(pred_alpha) > 0.5)
    return fg.to(gt_mask.dtype)


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
    pred, gt, fg = _batch(pred), _batch(gt), _batch(fg)
    if pred.shape != gt.shape or fg.shape[:3] != pred.shape[:3]:
        raise ValueError(f"score_images: shapes differ: pred {tuple(pred.shape)}, "
                         f"gt {tuple(gt.shape)}, fg {tuple(fg.shape)}")
    pred = pred.clamp(0, 1).float()
    gt = gt.float()
    fg = fg.float()
    smap = ssim_map(pred, gt)
    out = []
    for i in range(pred.shape[0]):
        n = fg[i].sum().clamp_min(1.0)
        mse = float(((pred[i] - gt[i]) ** 2 * fg[i]).sum() / (3 * n))
        l1 = float(((pred[i] - gt[i]).abs() * fg[i]).sum() / (3 * n))
        psnr = 10.0 * math.log10(1.0 / max(mse, 1e-10))
        ssim = float((smap[i] * fg[i]).sum() / n)
        out.append(ImageScores(psnr=psnr, ssim=ssim, l1=l1))
    return out


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


def lpips_weights_available(path: str | Path | None) -> bool:
    """True when an LPIPS network's weights exist locally at ``path``.

    LPIPS needs pretrained VGG/AlexNet features plus linear heads; none are shipped here and
    nothing is downloaded at run time, so an empty or missing path means "skip LPIPS".
    """
    return bool(path) and Path(str(path)).is_file()
