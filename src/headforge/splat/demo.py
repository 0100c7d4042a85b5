"""A structured demo scene and picture helpers (used by ``headforge splat demo`` and docs)."""

from __future__ import annotations

import colorsys
import math
import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from headforge.io_utils import atomic_path
from headforge.splat.gaussians import GaussianParams, rgb_to_sh_dc
from headforge.splat.projection import rotmat_to_quat
from headforge.splat.render import RenderOutput


def torus_knot_scene(n_knot: int = 3000, n_shell: int = 1500, seed: int = 0) -> GaussianParams:
    """Elongated Gaussians along a (2, 3) torus knot plus a shell with view-dependent colour."""
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 2 * math.pi, n_knot + 1, dtype=torch.float64)[:-1]
    p, q = 2.0, 3.0

    def knot(s: Tensor) -> Tensor:
        r = 0.35 + 0.15 * torch.cos(q * s)
        y = 0.15 * torch.sin(q * s)
        return torch.stack([r * torch.cos(p * s), y, r * torch.sin(p * s)], -1)

    pts = knot(t) + 0.01 * torch.randn(n_knot, 3, generator=g, dtype=torch.float64)
    tangent = knot(t + 1e-3) - knot(t - 1e-3)
    x = tangent / tangent.norm(dim=-1, keepdim=True)
    up = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64).expand_as(x)
    z = torch.linalg.cross(x, up)
    z = z / z.norm(dim=-1, keepdim=True)
    y = torch.linalg.cross(z, x)
    quats = rotmat_to_quat(torch.stack([x, y, z], dim=-1))
    scales = torch.tensor([0.02, 0.006, 0.006], dtype=torch.float64).expand(n_knot, 3).clone()
    hue = (t / (2 * math.pi)).tolist()
    rgb = torch.tensor([colorsys.hsv_to_rgb(h, 0.75, 0.95) for h in hue], dtype=torch.float64)

    d = torch.randn(n_shell, 3, generator=g, dtype=torch.float64)
    d = d / d.norm(dim=-1, keepdim=True)
    shell = 0.12 * d
    K = 4  # SH degree 1: colour changes with the viewing direction
    sh = torch.zeros(n_knot + n_shell, K, 3, dtype=torch.float64)
    sh[:n_knot, 0] = rgb_to_sh_dc(rgb)
    sh[n_knot:, 0] = rgb_to_sh_dc(torch.tensor([0.8, 0.8, 0.85], dtype=torch.float64))
    sh[n_knot:, 1:, :] = 0.6 * torch.randn(n_shell, 3, 3, generator=g, dtype=torch.float64)
    means = torch.cat([pts, shell])
    all_quats = torch.cat([quats, torch.randn(n_shell, 4, generator=g, dtype=torch.float64)])
    all_scales = torch.cat([scales, torch.full((n_shell, 3), 0.012, dtype=torch.float64)])
    opac = torch.cat([torch.full((n_knot,), 0.9), torch.full((n_shell,), 0.7)]).double()
    return GaussianParams.from_activated(means, all_quats, all_scales, opac, sh=sh).to(
        dtype=torch.float32
    )


def depth_to_rgb(depth: Tensor, alpha: Tensor) -> np.ndarray:
    """Colour-mapped depth [H, W, 1] (near = bright), black where alpha is ~0 -> uint8 [H,W,3]."""
    from matplotlib import colormaps

    d = depth[..., 0].detach().cpu().numpy()
    a = alpha[..., 0].detach().cpu().numpy()
    mask = a > 0.05
    out = np.zeros((*d.shape, 3), np.float64)
    if mask.any():
        lo, hi = np.percentile(d[mask], [1, 99])
        v = np.clip((hi - d) / max(hi - lo, 1e-9), 0, 1)
        out = colormaps["magma"](0.15 + 0.85 * v)[..., :3] * a[..., None]
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


def panels(out: RenderOutput, camera: int = 0) -> np.ndarray:
    """Image | alpha | depth for one camera, side by side, uint8 [H, 3W, 3]."""
    img = (out.image[camera].detach().cpu().clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)
    a = (out.alpha[camera].detach().cpu().numpy() * 255 + 0.5).astype(np.uint8)
    return np.concatenate(
        [img[..., :3], np.repeat(a, 3, -1), depth_to_rgb(out.depth[camera], out.alpha[camera])],
        axis=1,
    )


def save_png(path: str | os.PathLike[str], rgb: np.ndarray) -> Path:
    """Write a uint8 [H, W, 3] array as PNG (atomically)."""
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(rgb).save(tmp, format="PNG")
    return Path(path)
