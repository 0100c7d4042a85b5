"""LPIPS from a local TorchScript file (none ships with the project; nothing is downloaded).

Export an LPIPS network (e.g. the ``lpips`` package's VGG or AlexNet variant) with
``torch.jit.trace``/``script`` to a file that takes two ``[B, 3, H, W]`` images in [-1, 1] and
returns ``[B, ...]`` distances, and name it in ``benchmark.lpips_weights`` (or
``train_prior.lpips_weights`` for the training term).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor


class LpipsUnavailable(FileNotFoundError):
    """LPIPS was asked for but its weights file is not there; the message names the file."""


def lpips_weights_available(path: str | Path | None) -> bool:
    """True when an LPIPS network's weights exist locally at ``path`` (empty: not configured)."""
    return bool(path) and Path(str(path)).is_file()


class Lpips:
    """LPIPS distance of image pairs, from the TorchScript file at ``path``."""

    def __init__(self, path: str | Path) -> None:
        p = Path(str(path)) if path else None
        if p is None or not p.is_file():
            raise LpipsUnavailable(
                f"LPIPS weights file {str(path)!r} not found: export an LPIPS network to "
                "TorchScript (two [B,3,H,W] images in [-1, 1] -> distances) and put it there, "
                "or set the lpips_weights key to \"\" to skip LPIPS")
        self.path = p
        self._net = torch.jit.load(str(p), map_location="cpu").eval()

    @torch.no_grad()
    def __call__(self, pred: Tensor, gt: Tensor, fg: Tensor | None = None) -> list[float]:
        """Per-image LPIPS of ``[B, H, W, 3]`` images in [0, 1]; with ``fg`` ``[B, H, W, 1]``
        both images are composited on black outside it (the head foreground only)."""
        if fg is not None:
            pred, gt = pred * fg, gt * fg
        x = pred.permute(0, 3, 1, 2).float() * 2 - 1
        y = gt.permute(0, 3, 1, 2).float() * 2 - 1
        d = self._net(x, y).reshape(pred.shape[0], -1).mean(-1)
        return [float(v) for v in d]
