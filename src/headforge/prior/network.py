"""The UV-space generator: identity latent + expression -> Gaussian parameter maps.

An identity code ``z`` (one learned row per training identity: an auto-decoder) and an
expression code (expression coefficients and jaw/eye pose) are mapped by an MLP to a small
feature grid, which a CNN upsamples to ``uv_res x uv_res``. Every upsampling block also sees a
learned positional map (UV location is meaningful: eyes are not lips) and the expression's
per-vertex offsets rasterised into UV, so expression-dependent detail is spatially anchored.
A learned per-texel bias map holds the mean head; the CNN adds identity/expression changes.

The output is *raw* (unactivated) maps; :mod:`headforge.prior.gaussians` samples them at the
Gaussian sample points and activates them at the renderer call (STYLE.md section 6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from headforge.prior.layout import ChannelLayout, sh_coeffs

__all__ = ["DecoderSpec", "GaussianMaps", "UVDecoder", "sample_maps", "sh_coeffs"]


@dataclass(frozen=True)
class DecoderSpec:
    """Shape of the decoder (stored in checkpoints to rebuild it)."""

    latent_dim: int
    """Identity code size."""
    expr_dim: int
    """Expression vector size fed to the global (MLP) path, 0 for none: then expression reaches
    the decoder only through the rasterised offset map, locally, which keeps identity
    (colour) and expression apart when few expressions are seen in training."""
    uv_res: int
    """Output map resolution (a power of two >= 8)."""
    channels: int = 32
    """Channels of the finest CNN level; coarser levels use up to 4x this."""
    sh_degree: int = 0
    """Spherical-harmonics degree of the colour maps (0 = plain RGB)."""
    expr_map_channels: int = 3
    """Channels of the expression offset map (xyz displacement)."""
    pos_channels: int = 4
    """Channels of the learned positional map fed to each level."""

    @property
    def layout(self) -> ChannelLayout:
        """The raw channel layout of this decoder's output."""
        return ChannelLayout(self.sh_degree)


@dataclass
class GaussianMaps:
    """Raw Gaussian parameter maps, each ``[B, C, R, R]``."""

    offset: Tensor
    """[B, 3, R, R] position offset in the triangle's local frame (before tanh)."""
    rotation: Tensor
    """[B, 4, R, R] local rotation quaternion wxyz (before normalisation)."""
    scale: Tensor
    """[B, 3, R, R] log scale relative to the sample spacing."""
    opacity: Tensor
    """[B, 1, R, R] opacity logit."""
    color: Tensor
    """[B, 3*K, R, R] colour logits (K=1) or SH coefficients (K=(deg+1)^2)."""
    color_residual: Tensor | None = None
    """[B, 3, R, R] correction added to the photo colour where the appearance skip path
    (:mod:`headforge.prior.appearance`) is used; None for architectures without one."""

    def stacked(self) -> Tensor:
        """All maps concatenated along channels in :mod:`headforge.prior.layout` order."""
        return torch.cat([self.offset, self.rotation, self.scale, self.opacity, self.color], 1)

    @staticmethod
    def from_raw(raw: Tensor, layout: ChannelLayout, residual: Tensor | None = None
                 ) -> GaussianMaps:
        """Named maps from raw channels ``[B, C, R, R]`` in the layout's order."""
        parts = layout.split(raw, dim=1)
        return GaussianMaps(offset=parts["offset"], rotation=parts["rotation"],
                            scale=parts["scale"], opacity=parts["opacity"],
                            color=parts["color"], color_residual=residual)


class _UpBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        x = F.leaky_relu(self.conv1(x), 0.2)
        return F.leaky_relu(self.conv2(x), 0.2)


class UVDecoder(nn.Module):
    """CNN decoder from (identity code, expression) to raw Gaussian maps in UV space."""

    def __init__(self, spec: DecoderSpec) -> None:
        super().__init__()
        r = spec.uv_res
        if r < 8 or r & (r - 1):
            raise ValueError(f"uv_res must be a power of two >= 8, got {r}: set train_prior.uv_res")
        self.spec = spec
        self.levels = int(math.log2(r)) - 2  # 4x4 -> r x r
        widths = [min(spec.channels * 2 ** (self.levels - i), spec.channels * 4)
                  for i in range(self.levels + 1)]
        self.widths = widths
        self.fc = nn.Sequential(
            nn.Linear(spec.latent_dim + spec.expr_dim, 2 * widths[0]),
            nn.LeakyReLU(0.2),
            nn.Linear(2 * widths[0], widths[0] * 16),
        )
        self.pos = nn.Parameter(torch.randn(1, spec.pos_channels, r, r) * 0.1)
        extra = spec.pos_channels + spec.expr_map_channels
        self.blocks = nn.ModuleList(
            [_UpBlock(widths[i] + extra, widths[i + 1]) for i in range(self.levels)]
        )
        self.layout = spec.layout
        self.out_channels = self.layout.channels
        self.head = nn.Conv2d(widths[-1] + extra, self.out_channels, 1)
        # correction of the photos' colour on the appearance skip path (starts at zero: an
        # untrained or older decoder passes the photos' colours through unchanged)
        self.residual = nn.Conv2d(widths[-1] + extra, 3, 1)
        # A learned per-texel bias: the mean head (where hair, lips, eyes are and their usual
        # colours) is learned directly in UV, the CNN only models identity/expression changes.
        self.mean_map = nn.Parameter(torch.zeros(1, self.out_channels, r, r))
        self._init_head()

    def _init_head(self) -> None:
        nn.init.normal_(self.head.weight, std=1e-3)
        nn.init.zeros_(self.residual.weight)
        assert self.head.bias is not None and self.residual.bias is not None
        with torch.no_grad():
            self.head.bias.copy_(self.layout.initial())
            self.residual.bias.zero_()

    def forward(self, z: Tensor, expr: Tensor, expr_map: Tensor) -> GaussianMaps:
        """z: [B, L]; expr: [B, E]; expr_map: [B, 3, R, R] -> raw maps at R x R."""
        b = z.shape[0]
        expr = expr[:, :self.spec.expr_dim]
        if expr.shape != (b, self.spec.expr_dim):
            raise ValueError(f"expr must be [B, {self.spec.expr_dim}], got {tuple(expr.shape)}")
        r = self.spec.uv_res
        if expr_map.shape[1:] != (self.spec.expr_map_channels, r, r):
            raise ValueError(f"expr_map must be [B, {self.spec.expr_map_channels}, {r}, {r}], "
                             f"got {tuple(expr_map.shape)}")
        x = self.fc(torch.cat([z, expr], dim=-1)).view(b, self.widths[0], 4, 4)
        pos = self.pos.expand(b, -1, -1, -1)
        for i, blk in enumerate(self.blocks):
            size = 4 * 2 ** (i + 1)
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
            x = blk(torch.cat([x, _resize(pos, size), _resize(expr_map, size)], dim=1))
        feat = torch.cat([x, pos, expr_map], dim=1)
        out = self.head(feat) + self.mean_map
        return GaussianMaps.from_raw(out, self.layout, self.residual(feat))


def _resize(t: Tensor, size: int) -> Tensor:
    if t.shape[-1] == size:
        return t
    return F.interpolate(t, size=(size, size), mode="area")


def sample_maps(maps: Tensor, uv: Tensor) -> Tensor:
    """Bilinear samples of maps ``[B, C, R, R]`` at UV points ``[N, 2]`` -> ``[B, N, C]``.

    u runs along map columns, v along rows; texel centres sit at ``(i + 0.5) / R``.
    """
    grid = (uv * 2.0 - 1.0).view(1, 1, -1, 2).expand(maps.shape[0], -1, -1, -1)
    s = F.grid_sample(maps, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return s[:, :, 0, :].transpose(1, 2)
