"""Deterministic synthetic Gaussian scenes for tests, benchmarks and demo pictures."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
from torch import Tensor

from headforge.cameras import focal_from_fov, orbit_w2c


@dataclasses.dataclass
class Scene:
    """Activated Gaussians and cameras, ready for ``rasterize(**scene.kwargs())``."""

    means: Tensor  # [N, 3]
    quats: Tensor  # [N, 4]
    scales: Tensor  # [N, 3]
    opacities: Tensor  # [N]
    colors: Tensor  # [N, 3] or SH [N, K, 3]
    viewmats: Tensor  # [C, 4, 4]
    Ks: Tensor  # [C, 3, 3]
    width: int
    height: int
    sh_degree: int | None = None

    def kwargs(self) -> dict:
        """Keyword arguments for :func:`headforge.splat.render.rasterize`."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def tensors(self) -> list[Tensor]:
        """The differentiable inputs in rasterize's positional order."""
        return [self.means, self.quats, self.scales, self.opacities, self.colors, self.viewmats]


def orbit_cameras(
    n: int,
    width: int,
    height: int,
    radius: float = 3.0,
    fov_deg: float = 40.0,
    elevation_deg: float = 10.0,
    target: tuple[float, float, float] = (0.0, 0.0, 0.0),
    dtype: torch.dtype = torch.float32,
    azimuth_span_deg: float = 360.0,
) -> tuple[Tensor, Tensor]:
    """``n`` cameras on a horizontal circle looking at ``target``: (viewmats, Ks).

    The first camera sits on +z (in front of a FLAME-style head); the others follow at equal
    steps of ``azimuth_span_deg / n`` around +y.
    """
    f = focal_from_fov(fov_deg, width)
    K = torch.tensor([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]], dtype=dtype)
    w2c = orbit_w2c(np.array(target), radius, n, elevation_deg, span_deg=azimuth_span_deg)
    return torch.tensor(w2c, dtype=dtype), K.expand(n, 3, 3).clone()


def random_scene(
    n: int,
    width: int,
    height: int,
    n_cameras: int = 1,
    seed: int = 0,
    sh_degree: int | None = None,
    scale_range: tuple[float, float] = (0.01, 0.08),
    extent: float = 0.6,
    edge_cases: bool = False,
    dtype: torch.dtype = torch.float32,
) -> Scene:
    """``n`` random Gaussians in a ball of radius ``extent`` in front of orbiting cameras.

    With ``edge_cases`` a few Gaussians are placed behind the first camera, far off-screen,
    and given degenerate (zero / flat) scales and near-opaque opacities.
    """
    g = torch.Generator().manual_seed(seed)

    def rand(*shape: int) -> Tensor:
        return torch.rand(*shape, generator=g, dtype=torch.float64)

    means = (rand(n, 3) * 2 - 1) * extent
    quats = torch.randn(n, 4, generator=g, dtype=torch.float64)
    lo, hi = scale_range
    scales = torch.exp(math.log(lo) + rand(n, 3) * (math.log(hi) - math.log(lo)))
    opacities = 0.05 + 0.9 * rand(n)
    if sh_degree is None:
        colors = rand(n, 3)
    else:
        K = (sh_degree + 1) ** 2
        colors = torch.randn(n, K, 3, generator=g, dtype=torch.float64) * 0.2
        colors[:, 0] = (rand(n, 3) - 0.5) / 0.28209479177387814
    viewmats, Ks = orbit_cameras(n_cameras, width, height, dtype=torch.float64)
    if edge_cases and n >= 8:
        cam_pos = -(viewmats[0, :3, :3].T @ viewmats[0, :3, 3])
        fwd = viewmats[0, 2, :3]
        means[0] = cam_pos - 0.5 * fwd  # behind the camera
        means[1] = cam_pos + 0.005 * fwd  # inside the near plane
        means[2] = cam_pos + 2.0 * fwd + 5.0 * viewmats[0, 0, :3]  # far off-screen
        scales[3] = 0.0  # fully degenerate: a point, only the low-pass blur remains
        scales[4, 2] = 0.0  # flat disc
        scales[5, 1:] = 0.0  # needle
        opacities[6] = 0.999  # clamped alpha
        opacities[7] = 0.003  # below the 1/255 threshold
    return Scene(
        means=means.to(dtype),
        quats=quats.to(dtype),
        scales=scales.to(dtype),
        opacities=opacities.to(dtype),
        colors=colors.to(dtype),
        viewmats=viewmats.to(dtype),
        Ks=Ks.to(dtype),
        width=width,
        height=height,
        sh_degree=sh_degree,
    )
