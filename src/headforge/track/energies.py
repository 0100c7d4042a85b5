"""Fitting energies as pure functions (per view or per frame; the caller reduces and weights).

Landmark residuals are measured in pixels of a 256-pixel reference image (pixels x 256 /
max(W, H)) so one set of weights serves every resolution.
"""

from __future__ import annotations

import torch
from torch import Tensor

REFERENCE_SIZE = 256.0
"""Landmark residuals are expressed in pixels of an image this many pixels across."""


def ibug68_weights() -> Tensor:
    """[68] per-landmark weights: eyes and mouth count more (they drive expression). The jaw
    line counts fully: the built-in model embeds it where FaceMesh puts the face oval
    (:data:`headforge.morphable.landmarks.JAW_CONTOUR`), so on real videos it agrees with
    the detections as well as the inner points do (docs/track.md)."""
    w = torch.ones(68)
    w[0:17] = 1.0  # jaw line
    w[17:27] = 0.8  # brows
    w[36:48] = 1.5  # eyes
    w[48:68] = 1.2  # mouth
    return w


def charbonnier(x: Tensor, eps: float = 1.0) -> Tensor:
    """Robust penalty ``sqrt(x^2 + eps^2) - eps``: quadratic near 0, linear in the tails."""
    return torch.sqrt(x * x + eps * eps) - eps


def landmark_energy(
    uv: Tensor,  # [V, L, 2] projected model landmarks (pixels)
    observed: Tensor,  # [V, L, 2] detected landmarks (pixels)
    confidence: Tensor,  # [V, L] in [0, 1]; 0 for missing points
    image_size: Tensor,  # [V] max(W, H) of each view
    point_weights: Tensor,  # [L]
) -> Tensor:
    """Per-view robust reprojection energy [V] in reference pixels (weighted mean over points)."""
    scale = REFERENCE_SIZE / image_size  # [V]
    r = torch.linalg.vector_norm(uv - observed, dim=-1) * scale[:, None]  # [V, L]
    w = confidence * point_weights[None]
    return (charbonnier(r) * w).sum(-1) / w.sum(-1).clamp(min=1e-8)


def reprojection_px(uv: Tensor, observed: Tensor, valid: Tensor) -> Tensor:
    """Per-view mean landmark distance in image pixels [V] (NaN for views with no valid point)."""
    d = torch.linalg.vector_norm(uv - observed, dim=-1)  # [V, L]
    n = valid.sum(-1)
    s = torch.where(valid, d, torch.zeros_like(d)).sum(-1)
    return torch.where(n > 0, s / n.clamp(min=1), torch.full_like(s, float("nan")))


def gaussian_prior(x: Tensor) -> Tensor:
    """Per-row mean of squares [..., D] -> [...] (coefficients in units of the model's std)."""
    return (x * x).mean(-1)


def temporal_smoothness(x: Tensor, pairs: Tensor) -> Tensor:
    """Squared differences between consecutive frames: x [F, D], pairs [P, 2] -> [P]."""
    if pairs.numel() == 0:
        return x.new_zeros(0)
    return ((x[pairs[:, 0]] - x[pairs[:, 1]]) ** 2).sum(-1)


def photometric_l1(
    rendered: Tensor,  # [V, H, W, 3]
    target: Tensor,  # [V, H, W, 3]
    weight: Tensor,  # [V, H, W, 1] pixels that count (e.g. the foreground mask)
) -> Tensor:
    """Per-view mean absolute colour error over weighted pixels [V]."""
    e = (rendered - target).abs().mean(-1, keepdim=True) * weight
    return e.flatten(1).sum(1) / weight.flatten(1).sum(1).clamp(min=1.0)


def silhouette_l2(alpha: Tensor, mask: Tensor) -> Tensor:
    """Per-view mean squared difference of rendered alpha and mask [V] (both [V, H, W, 1])."""
    return ((alpha - mask) ** 2).flatten(1).mean(1)
