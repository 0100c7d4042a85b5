"""``rasterize``: render 3D Gaussians into a batch of cameras, picking a backend.

Arguments follow gsplat's ``rasterization()`` so the backends are swappable: OpenCV cameras,
world-to-camera ``viewmats`` [C, 4, 4], pixel intrinsics ``Ks`` [C, 3, 3], quaternions wxyz
(normalised inside), activated scales and opacities, colours [N, D] (or [C, N, D]) or SH
coefficients [N, K, 3] with ``sh_degree``. Everything is differentiable, camera poses included.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from typing import Any, Literal

import torch
from torch import Tensor

from headforge import backends
from headforge.render_settings import BACKENDS, configured
from headforge.splat import _torch
from headforge.splat._reference import composite_dense, composite_sequential
from headforge.splat.projection import (
    Projected,
    RasterizeMode,
    camera_centers,
    project_gaussians,
    sh_to_color,
)

log = logging.getLogger(__name__)

Backend = Literal["auto", "torch", "gsplat", "reference", "reference_sequential"]
_warned_fallback = False
TORCH_TILE_SIZE = 8
"""Default tile edge of the torch rasterizer: smaller tiles waste fewer pixel evaluations."""


@dataclasses.dataclass
class RenderOutput:
    """What :func:`rasterize` returns (one entry per camera)."""

    image: Tensor  # [C, H, W, D] colours, background composited behind
    alpha: Tensor  # [C, H, W, 1] accumulated opacity
    depth: Tensor  # [C, H, W, 1] expected camera z: sum(w z) / alpha (0 where alpha is 0)
    meta: dict[str, Any]
    """radii [C,N,2], means2d [C,N,2], depths [C,N], n_visible [C], backend, ... (see docs)."""


def _check_inputs(
    means: Tensor,
    quats: Tensor,
    scales: Tensor,
    opacities: Tensor,
    colors: Tensor,
    viewmats: Tensor,
    Ks: Tensor,
    width: int,
    height: int,
    sh_degree: int | None,
    background: Tensor | None,
) -> None:
    def bad(msg: str) -> None:
        raise ValueError(f"rasterize: {msg}")

    if means.ndim != 2 or means.shape[1] != 3:
        bad(f"means must be [N, 3], got {list(means.shape)}")
    N = means.shape[0]
    for name, t, shape in [
        ("quats", quats, [N, 4]),
        ("scales", scales, [N, 3]),
        ("opacities", opacities, [N]),
    ]:
        if list(t.shape) != shape:
            hint = " (squeeze the last dim)" if name == "opacities" and t.ndim == 2 else ""
            bad(f"{name} must be {shape} to match means, got {list(t.shape)}{hint}")
    if viewmats.ndim != 3 or viewmats.shape[1:] != (4, 4):
        bad(f"viewmats must be [C, 4, 4] world-to-camera, got {list(viewmats.shape)}")
    C = viewmats.shape[0]
    if list(Ks.shape) != [C, 3, 3]:
        bad(f"Ks must be [C, 3, 3] = [{C}, 3, 3] to match viewmats, got {list(Ks.shape)}")
    if sh_degree is None:
        if colors.ndim not in (2, 3) or colors.shape[-2] != N or (
            colors.ndim == 3 and colors.shape[0] != C
        ):
            bad(
                f"colors must be [N, D] or [C, N, D] (N={N}, C={C}), got {list(colors.shape)}; "
                "for SH coefficients [N, K, 3] pass sh_degree"
            )
    else:
        if not 0 <= sh_degree <= 3:
            bad(f"sh_degree must be 0..3, got {sh_degree}")
        k = (sh_degree + 1) ** 2
        if colors.ndim != 3 or colors.shape[0] != N or colors.shape[2] != 3 or colors.shape[1] < k:
            bad(f"SH coefficients must be [N, K>={k}, 3] for sh_degree {sh_degree}, "
                f"got {list(colors.shape)}")  # fmt: skip
    if int(width) <= 0 or int(height) <= 0:
        bad(f"width and height must be positive, got {width}x{height}")
    ts = [means, quats, scales, opacities, colors, viewmats, Ks]
    if background is not None:
        ts.append(background)
    devices = {t.device for t in ts}
    if len(devices) > 1:
        bad(f"all tensors must be on one device, got {sorted(map(str, devices))}")
    if any(not t.is_floating_point() for t in ts):
        bad("all tensors must be floating point")
    dtypes = {t.dtype for t in ts}
    if len(dtypes) > 1:
        bad(f"all tensors must share one dtype, got {sorted(map(str, dtypes))}")


def _pick_backend(backend: str, device: torch.device) -> str:
    global _warned_fallback
    if backend not in BACKENDS:
        raise ValueError(f"rasterize: backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "gsplat":
        if device.type != "cuda":
            raise ValueError(
                "rasterize: backend='gsplat' needs CUDA tensors; move the inputs to a CUDA "
                "device or use backend='torch'"
            )
        backends.require("gsplat", "Use backend='torch' (or 'auto') to render without it.")
        return "gsplat"
    if backend != "auto":
        return backend
    if device.type != "cuda":
        return "torch"
    if backends.available("gsplat"):
        return "gsplat"
    if not _warned_fallback:
        _warned_fallback = True
        detail = backends.status("gsplat").detail
        warnings.warn(
            f"gsplat unavailable on CUDA ({detail}); using the slower torch rasterizer",
            RuntimeWarning,
            stacklevel=3,
        )
    return "torch"


def rasterize(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4] wxyz, any norm
    scales: Tensor,  # [N, 3] activated (positive)
    opacities: Tensor,  # [N] in (0, 1)
    colors: Tensor,  # [N, D] | [C, N, D] | SH [N, K, 3] with sh_degree
    viewmats: Tensor,  # [C, 4, 4] world-to-camera (OpenCV)
    Ks: Tensor,  # [C, 3, 3] pixel intrinsics
    width: int,
    height: int,
    *,
    sh_degree: int | None = None,
    background: Tensor | None = None,  # [D] or [C, D]
    backend: Backend | None = None,
    near_plane: float = 0.01,
    far_plane: float = 1e10,
    eps2d: float = 0.3,
    rasterize_mode: RasterizeMode = "classic",
    tile_size: int | None = None,
    alpha_max: float = 0.99,
    transmittance_min: float = 1e-4,
    chunk_elements: int = _torch.DEFAULT_CHUNK_ELEMENTS,
) -> RenderOutput:
    """Render Gaussians into ``C`` cameras; differentiable w.r.t. every tensor argument.

    backend: ``auto`` (gsplat on CUDA tensors when usable, else ``torch``), ``torch`` (tile
    rasterizer, any device), ``gsplat`` (CUDA only), ``reference`` / ``reference_sequential``
    (brute force, for tests and benchmarks). ``tile_size`` None picks each backend's fastest
    (8 for torch on CPU, 16 for gsplat); it never changes the image. gsplat hard-codes
    ``alpha_max=0.999`` and ``transmittance_min=1e-4``: pass ``alpha_max=0.999`` to the torch
    path for parity with it (the default 0.99 is the original 3DGS clamp).

    Returns image [C, H, W, D], alpha [C, H, W, 1], expected depth [C, H, W, 1] and meta:
    ``radii`` [C, N, 2] (0 = culled), ``means2d`` [C, N, 2] (call ``retain_grad()`` on it for
    densification statistics), ``depths`` [C, N], ``conics``, ``opacities``, ``n_visible`` [C],
    ``backend``; the torch path adds ``tiles_per_gauss`` [C, N], ``tile_counts`` [C, ty, tx],
    ``n_isects`` and ``n_chunks``.
    """
    _check_inputs(means, quats, scales, opacities, colors, viewmats, Ks, width, height,
                  sh_degree, background)  # fmt: skip
    width, height = int(width), int(height)
    settings = configured()
    chosen = _pick_backend(backend or settings["backend"], means.device)
    if tile_size is None:
        tile_size = settings["tile_size"]
    if tile_size is None:
        tile_size = 16 if chosen == "gsplat" else TORCH_TILE_SIZE
    elif tile_size < 1:
        raise ValueError(f"rasterize: tile_size must be positive, got {tile_size}")
    if chosen == "gsplat":
        from headforge.splat._gsplat import rasterize_gsplat

        return rasterize_gsplat(
            means, quats, scales, opacities, colors, viewmats, Ks, width, height,
            sh_degree=sh_degree, background=background, near_plane=near_plane,
            far_plane=far_plane, eps2d=eps2d, rasterize_mode=rasterize_mode, tile_size=tile_size,
        )  # fmt: skip

    proj = project_gaussians(means, quats, scales, opacities, viewmats, Ks, width, height,
                             near_plane, far_plane, eps2d, rasterize_mode)  # fmt: skip
    feats = _features(means, colors, viewmats, sh_degree, proj)
    feats = torch.cat([feats, proj.depths[..., None]], dim=-1)  # depth as the last channel
    meta: dict[str, Any] = {
        "backend": chosen,
        "radii": proj.radii,
        "means2d": proj.means2d,
        "depths": proj.depths,
        "conics": proj.conics,
        "opacities": proj.opacities,
        "n_visible": proj.visible.sum(dim=1),
        "width": width,
        "height": height,
        "tile_size": tile_size,
    }
    args = (proj.means2d, proj.conics, proj.opacities, feats)
    if chosen == "torch":
        plan = _torch.build_tile_plan(proj.means2d, proj.conics, proj.opacities, proj.radii,
                                      proj.depths, width, height, tile_size, chunk_elements)
        out, alpha = _torch.composite(*args, plan, width, height, alpha_max, transmittance_min)
        meta["tiles_per_gauss"] = plan.tiles_per_gauss
        meta["tile_counts"] = plan.tile_counts.reshape(plan.n_cameras, plan.tiles_y, plan.tiles_x)
        meta["n_isects"] = plan.n_pairs
        meta["n_chunks"] = len(plan.chunks)
    else:
        fn = composite_dense if chosen == "reference" else composite_sequential
        out, alpha = fn(*args, proj.depths, proj.in_frustum, width, height, alpha_max,
                        transmittance_min)  # fmt: skip
    return _finish(out, alpha, background, meta)


def _features(
    means: Tensor, colors: Tensor, viewmats: Tensor, sh_degree: int | None, proj: Projected
) -> Tensor:
    """Per-camera colours [C, N, D]: given colours, or SH evaluated towards each camera."""
    C, N = proj.depths.shape
    if sh_degree is None:
        return colors.expand(C, N, colors.shape[-1]) if colors.ndim == 2 else colors
    dirs = means[None] - camera_centers(viewmats)[:, None]  # [C, N, 3]
    return sh_to_color(sh_degree, dirs, colors[None].expand(C, *colors.shape))


def _finish(
    out: Tensor, alpha: Tensor, background: Tensor | None, meta: dict[str, Any]
) -> RenderOutput:
    """Split the depth channel, normalise it, composite the background."""
    image, acc_depth = out[..., :-1], out[..., -1:]
    depth = acc_depth / alpha.clamp_min(1e-10)
    if background is not None:
        bg = background if background.ndim == 2 else background[None]
        image = image + (1.0 - alpha) * bg[:, None, None, :]
    return RenderOutput(image=image, alpha=alpha, depth=depth, meta=meta)


def render_kwargs(cfg: Any) -> dict[str, Any]:
    """Keyword arguments for :func:`rasterize` from a ``RenderConfig`` (params.yaml ``render``)."""
    return {"backend": cfg.backend, "tile_size": cfg.tile_size}
