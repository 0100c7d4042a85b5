"""gsplat backend: ``gsplat.rasterization`` on CUDA tensors.

gsplat is optional and imported only here, only when called (``headforge.backends`` decides
whether it is usable, including its one-off CUDA JIT build). Outputs are converted to the same
:class:`~headforge.splat.render.RenderOutput` as the torch path: gsplat renders colours plus an
expected-depth channel (``RGB+ED``), which is split off here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from headforge import backends

if TYPE_CHECKING:
    from headforge.splat.render import RenderOutput


def rasterize_gsplat(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4]
    scales: Tensor,  # [N, 3]
    opacities: Tensor,  # [N]
    colors: Tensor,  # [N, D] | [C, N, D] | SH [N, K, 3]
    viewmats: Tensor,  # [C, 4, 4]
    Ks: Tensor,  # [C, 3, 3]
    width: int,
    height: int,
    *,
    sh_degree: int | None,
    background: Tensor | None,  # [D] | [C, D]
    near_plane: float,
    far_plane: float,
    eps2d: float,
    rasterize_mode: str,
    tile_size: int,
) -> RenderOutput:
    """Render with gsplat (alpha clamp 0.999 and transmittance stop 1e-4, fixed by gsplat)."""
    from headforge.splat.render import RenderOutput

    backends.require("gsplat", "Use backend='torch' to render without it.")
    gsplat = importlib.import_module("gsplat")
    C = viewmats.shape[0]
    bgs = None
    if background is not None:
        bgs = background.expand(C, background.shape[-1]) if background.ndim == 1 else background
    render, alpha, info = gsplat.rasterization(
        means, quats, scales, opacities, colors, viewmats, Ks, width, height,
        near_plane=near_plane, far_plane=far_plane, eps2d=eps2d, sh_degree=sh_degree,
        packed=False, tile_size=tile_size, backgrounds=bgs, render_mode="RGB+ED",
        rasterize_mode=rasterize_mode,
    )  # fmt: skip
    meta: dict[str, Any] = dict(info)
    meta["backend"] = "gsplat"
    radii = meta.get("radii")
    if isinstance(radii, torch.Tensor):
        vis = radii > 0
        meta["n_visible"] = (vis.all(dim=-1) if vis.ndim == 3 else vis).sum(dim=1)
    return RenderOutput(image=render[..., :-1], alpha=alpha, depth=render[..., -1:], meta=meta)
