"""Small differentiable geometry for fitting: pinhole projection and camera refinement with
per-view cameras (OpenCV convention and rotations: :mod:`headforge.cameras`)."""

from __future__ import annotations

import torch
from torch import Tensor

from headforge.cameras import axis_angle_to_matrix


def project_views(
    points: Tensor,  # [V, N, 3] world points, one set per view
    K: Tensor,  # [V, 3, 3]
    w2c: Tensor,  # [V, 4, 4]
    min_depth: float = 1e-3,
) -> tuple[Tensor, Tensor]:
    """Pinhole projection -> (uv [V, N, 2] pixels, depth [V, N]).

    Depth is clamped to ``min_depth`` before the division so points behind the camera give
    large but finite pixels (the fit is pushed back instead of producing inf).
    """
    cam = points @ w2c[:, :3, :3].transpose(1, 2) + w2c[:, None, :3, 3]
    z = cam[..., 2]
    zc = z.clamp(min=min_depth)
    xy = cam[..., :2] / zc[..., None]
    uv = xy @ K[:, :2, :2].transpose(1, 2) + K[:, None, :2, 2]
    return uv, z


def scale_focal(K: Tensor, log_scale: Tensor) -> Tensor:
    """K [V, 3, 3] with fx, fy multiplied by exp(log_scale) [V]."""
    s = torch.exp(log_scale)
    out = K.clone()
    out[:, 0, 0] = K[:, 0, 0] * s
    out[:, 1, 1] = K[:, 1, 1] * s
    return out


def perturb_w2c(w2c: Tensor, delta: Tensor) -> Tensor:
    """w2c [V, 4, 4] refined by delta [V, 6] (axis-angle, translation) applied in camera space."""
    R = axis_angle_to_matrix(delta[:, :3])
    out = w2c.clone()
    out[:, :3, :3] = R @ w2c[:, :3, :3]
    out[:, :3, 3] = (R @ w2c[:, :3, 3, None])[..., 0] + delta[:, 3:]
    return out
