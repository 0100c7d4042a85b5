"""PSNR over the foreground (peak 1.0)."""

from __future__ import annotations

import math

from torch import Tensor


def masked_mse(pred: Tensor, gt: Tensor, fg: Tensor) -> float:
    """Mean squared error over foreground pixels and channels of one ``[H, W, C]`` pair."""
    n = fg.sum().clamp_min(1.0) * pred.shape[-1]
    return float(((pred - gt) ** 2 * fg).sum() / n)


def psnr(pred: Tensor, gt: Tensor, fg: Tensor) -> float:
    """Peak signal-to-noise ratio in dB of one ``[H, W, C]`` pair on ``fg`` ``[H, W, 1]``.

    Identical images give 100 dB (the MSE is floored at 1e-10)."""
    return 10.0 * math.log10(1.0 / max(masked_mse(pred, gt, fg), 1e-10))
