"""Render placed Gaussians of one head from one or more cameras."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from headforge.prior.gaussians import GaussianBatch


@dataclass
class Rendered:
    """Images of one head from C cameras."""

    rgb: Tensor
    """[C, H, W, 3]."""
    alpha: Tensor
    """[C, H, W, 1]."""


def render_head(
    g: GaussianBatch, K: Tensor, w2c: Tensor, width: int, height: int,
    background: Tensor | None = None,
) -> Rendered:
    """Render the single head in ``g`` (batch of one) from cameras K [C, 3, 3], w2c [C, 4, 4]."""
    from headforge.splat import rasterize

    if g.means.shape[0] != 1:
        raise ValueError(f"render_head takes one head (batch of 1), got {g.means.shape[0]}; "
                         "use GaussianBatch.item(i)")
    if background is None:
        background = torch.zeros(3, device=g.means.device, dtype=g.means.dtype)
    out = rasterize(
        means=g.means[0], quats=g.quats[0], scales=g.scales[0], opacities=g.opacities[0],
        colors=g.colors[0], viewmats=w2c, Ks=K, width=width, height=height,
        background=background,
    )
    return Rendered(rgb=out.image, alpha=out.alpha)
