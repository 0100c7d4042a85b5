"""The scored region: ground-truth mask united with the rendered alpha.

A render that spills outside the subject is penalised as well as one that misses part of it.
"""

from __future__ import annotations

from torch import Tensor


def batch(t: Tensor) -> Tensor:
    """``[H, W, C]`` -> ``[1, H, W, C]``; batches pass through."""
    return t.unsqueeze(0) if t.dim() == 3 else t


def foreground(gt_mask: Tensor, pred_alpha: Tensor | None = None) -> Tensor:
    """Binary foreground ``[B, H, W, 1]``: GT mask > 0.5, united with rendered alpha > 0.5."""
    fg = batch(gt_mask) > 0.5
    if pred_alpha is not None:
        fg = fg | (batch(pred_alpha) > 0.5)
    return fg.to(gt_mask.dtype)
