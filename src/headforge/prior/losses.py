"""Energy terms shared by prior training, inversion and the baseline.

Each function returns unweighted scalar terms in a ``dict``; weights live in the configs and
are applied by the caller (or by :func:`headforge.optim.total_energy`).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from headforge.metrics.lpips import lpips_weights_available
from headforge.metrics.ssim import ssim_map
from headforge.prior.gaussians import GaussianBatch


def photometric_terms(
    pred_rgb: Tensor, pred_alpha: Tensor, gt_rgb: Tensor, gt_mask: Tensor
) -> dict[str, Tensor]:
    """``l1``, ``dssim`` (1 - SSIM) and ``mask`` (L1 of alpha vs mask) over whole images.

    pred_rgb, gt_rgb: [B, H, W, 3] (gt composited on the render background); pred_alpha,
    gt_mask: [B, H, W, 1].
    """
    return {
        "l1": (pred_rgb - gt_rgb).abs().mean(),
        "dssim": 1.0 - ssim_map(pred_rgb, gt_rgb).mean(),
        "mask": (pred_alpha - gt_mask).abs().mean(),
    }


def gaussian_regularisers(g: GaussianBatch, max_offset: float, max_log_scale: float = 1.0
                          ) -> dict[str, Tensor]:
    """``offset``: mean squared offset (in units of max_offset); ``scale``: mean excess of the
    log scale over ``max_log_scale`` relative to the local spacing (keeps splats from
    ballooning over the background)."""
    return {
        "offset": (g.offsets / max_offset).pow(2).sum(-1).mean(),
        "scale": F.relu(g.log_scales - max_log_scale).mean(),
    }


class LPIPS:
    """LPIPS distance from a local TorchScript module, or an explicit "not available".

    No LPIPS weights ship with the project and nothing is downloaded, so by default
    :attr:`available` is False and callers skip the term. To enable it, export an LPIPS network
    (e.g. the ``lpips`` package's VGG variant) with ``torch.jit.script``/``trace`` to a file
    taking two ``[B, 3, H, W]`` images in [-1, 1] and returning ``[B, ...]`` distances, and set
    the config's ``lpips_weights`` to its path.
    """

    def __init__(self, path: str | Path | None) -> None:
        self.path = str(path) if path else ""
        self.available = lpips_weights_available(self.path)
        self._net: torch.jit.ScriptModule | None = None

    def __call__(self, a: Tensor, b: Tensor) -> Tensor:
        """Mean LPIPS of [B, H, W, 3] images in [0, 1]."""
        if not self.available:
            raise RuntimeError("LPIPS weights are not present: set lpips_weights to a "
                               "TorchScript LPIPS file, or skip the LPIPS term")
        if self._net is None:
            self._net = torch.jit.load(self.path, map_location=a.device)
            self._net.eval()
        x = a.permute(0, 3, 1, 2) * 2 - 1
        y = b.permute(0, 3, 1, 2) * 2 - 1
        return self._net(x, y).reshape(a.shape[0], -1).mean()


def psnr(a: Tensor, b: Tensor) -> float:
    """PSNR (dB, peak 1) over whole images, for logging."""
    mse = float(((a - b) ** 2).mean())
    return 10.0 * math.log10(1.0 / max(mse, 1e-10))
