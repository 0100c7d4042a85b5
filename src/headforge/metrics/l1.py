"""Mean absolute error over the foreground."""

from __future__ import annotations

from torch import Tensor


def l1(pred: Tensor, gt: Tensor, fg: Tensor) -> float:
    """Mean |pred - gt| over foreground pixels and channels of one ``[H, W, C]`` pair."""
    n = fg.sum().clamp_min(1.0) * pred.shape[-1]
    return float(((pred - gt).abs() * fg).sum() / n)
