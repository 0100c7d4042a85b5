"""Geometry-only shading of Gaussian heads: grey clay lit by the splats' own normals.

A render that shows an avatar's shape without its learned colours, for figures of people whose
appearance may not be shared (e.g. footage licensed for internal tests only). Every Gaussian
gets one constant albedo, lit by a headlight-style directional light through its normal: the
axis of its smallest scale (Gaussians bound to the head lie flat on the surface), turned to face
the camera. Opacity, position and extent are the avatar's; no colour of the input reaches the
image.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from headforge.prior.gaussians import GaussianBatch

LIGHT_CAMERA = (-0.35, -0.45, -1.0)
"""Default light direction in camera coordinates (OpenCV: x right, y down, z forward),
pointing from the surface toward the light: above-left of the camera, behind it."""


def gaussian_normals(quats: Tensor, scales: Tensor) -> Tensor:
    """Unit normals [..., 3]: the rotated axis of each Gaussian's smallest scale.

    quats: [..., 4] wxyz (normalised inside); scales: [..., 3]. The sign is arbitrary."""
    from headforge.splat.projection import quat_to_rotmat

    R = quat_to_rotmat(quats)  # [...,3,3], columns are the local axes in world space
    idx = scales.argmin(dim=-1)  # [...]
    n = torch.gather(R, -1, idx[..., None, None].expand(*idx.shape, 3, 1)).squeeze(-1)
    return n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def lambert_grey(means: Tensor, normals: Tensor, w2c: Tensor, albedo: float = 0.75,
                 ambient: float = 0.25, light_camera: tuple[float, float, float] = LIGHT_CAMERA
                 ) -> Tensor:
    """Per-Gaussian grey colours [N, 3] seen from one camera w2c [4, 4].

    means, normals: [N, 3] world. Normals are flipped to face the camera; the light direction
    is fixed in camera space (it turns with the camera, so every view is lit alike).
    colour = albedo * (ambient + (1 - ambient) * max(0, n . l))."""
    if not 0.0 <= ambient <= 1.0 or not 0.0 <= albedo <= 1.0:
        raise ValueError(f"albedo ({albedo}) and ambient ({ambient}) must lie in [0, 1]")
    R, t = w2c[:3, :3], w2c[:3, 3]
    eye = -(R.T @ t)  # [3] camera centre in world space
    to_cam = eye - means
    facing = (normals * to_cam).sum(-1, keepdim=True) >= 0
    n = torch.where(facing, normals, -normals)
    light = R.T @ torch.tensor(light_camera, dtype=means.dtype, device=means.device)
    light = light / light.norm()
    diffuse = (n @ light).clamp_min(0.0)  # [N]
    shade = albedo * (ambient + (1.0 - ambient) * diffuse)
    return shade[:, None].expand(-1, 3).contiguous()


def geometry_shaded(g: GaussianBatch, w2c: Tensor, albedo: float = 0.75, ambient: float = 0.25
                    ) -> GaussianBatch:
    """``g`` (one head, batch of 1) with its colours replaced by grey shading for camera
    w2c [4, 4]; SH colours become plain RGB."""
    if g.means.shape[0] != 1:
        raise ValueError(f"geometry_shaded takes one head (batch of 1), got {g.means.shape[0]}")
    n = gaussian_normals(g.quats[0], g.scales[0])
    c = lambert_grey(g.means[0], n, w2c, albedo, ambient)
    return replace(g, colors=c[None])
