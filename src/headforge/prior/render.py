"""Render placed Gaussians of one head from one or more cameras."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from headforge.prior.gaussians import GaussianBatch

TILE_SIZE = 8
"""Rasterizer tile edge: with ~1k small splats per head at 64-128 px, 8 px tiles cut the
torch rasterizer's padded work about in half compared with 16 (measured on CPU)."""


@dataclass
class Rendered:
    """Images of one head from C cameras."""

    rgb: Tensor
    """[C, H, W, 3]."""
    alpha: Tensor
    """[C, H, W, 1]."""


def render_head(
    g: GaussianBatch, K: Tensor, w2c: Tensor, width: int, height: int,
    background: Tensor | None = None, tile_size: int = TILE_SIZE,
) -> Rendered:
    """Render the single head in ``g`` (batch of one) from cameras K [C, 3, 3], w2c [C, 4, 4]."""
    from headforge.splat.render import rasterize

    if g.means.shape[0] != 1:
        raise ValueError(f"render_head takes one head (batch of 1), got {g.means.shape[0]}; "
                         "use GaussianBatch.item(i)")
    if background is None:
        background = torch.zeros(3, device=g.means.device, dtype=g.means.dtype)
    sh_degree = None
    if g.colors.dim() == 4:  # [1, N, K, 3] SH coefficients
        sh_degree = int(round(g.colors.shape[2] ** 0.5)) - 1
    out = rasterize(
        means=g.means[0], quats=g.quats[0], scales=g.scales[0], opacities=g.opacities[0],
        colors=g.colors[0], viewmats=w2c, Ks=K, width=width, height=height,
        background=background, tile_size=tile_size, sh_degree=sh_degree,
    )
    return Rendered(rgb=out.image, alpha=out.alpha)
