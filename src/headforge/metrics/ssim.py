"""SSIM: the per-pixel map (also a training energy) and its foreground mean."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _gaussian_window(size: int, sigma: float, device: torch.device, dtype: torch.dtype) -> Tensor:
    x = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2.0
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()  # [size]


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


def masked_ssim(smap: Tensor, fg: Tensor) -> float:
    """Mean of one SSIM map ``[H, W, 1]`` over the foreground ``[H, W, 1]``."""
    return float((smap * fg).sum() / fg.sum().clamp_min(1.0))
