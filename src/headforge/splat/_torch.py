"""Pure-torch tile rasterizer: the CPU path, and the reference for the gsplat (CUDA) path.

Pipeline (all vectorised, no Python loop over Gaussians or pixels):

1. :func:`build_tile_plan` — every visible Gaussian's pixel bounding box (from the projected
   radii) is cut into the ``tile_size``-square tiles it touches, giving (tile, Gaussian) pairs
   sorted by (camera, tile, depth).
2. Tiles are grouped into chunks of similar pair counts (tiles sorted by count, padded to the
   largest in the chunk, with an element budget per chunk), which bounds memory.
3. :class:`_Composite` evaluates ``[tiles, K, tile_size^2]`` alphas per chunk and composites
   front to back with the kernel's rules: alpha = min(alpha_max, o exp(-sigma)); skip alpha <
   1/255; stop (exclusive) once transmittance would fall to <= ``t_min``. Its backward
   recomputes each chunk instead of storing it, so memory stays bounded by the chunk budget.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from torch import Tensor

from headforge.splat.projection import ALPHA_THRESHOLD

DEFAULT_CHUNK_ELEMENTS = 1 << 21
"""Default budget of (tile, Gaussian, pixel) elements evaluated at once (~8 MB per float32)."""


@dataclasses.dataclass
class TilePlan:
    """Which Gaussians touch which tile, depth-sorted; and how tiles are chunked."""

    tile_size: int
    tiles_x: int
    tiles_y: int
    n_cameras: int
    n_gaussians: int
    gauss_ids: Tensor  # [P] int64 flat ids c * N + n, sorted by (camera, tile, depth)
    tile_offsets: Tensor  # [C * ty * tx] int64 start of each tile's run in gauss_ids
    tile_counts: Tensor  # [C * ty * tx] int64 pairs per tile
    tiles_per_gauss: Tensor  # [C, N] int64 tiles each Gaussian touches
    chunks: list[tuple[Tensor, int]]  # (tile ids [T], padded pair count K)

    @property
    def n_pairs(self) -> int:
        """Number of (tile, Gaussian) intersections."""
        return int(self.gauss_ids.numel())

    @property
    def dummy(self) -> int:
        """Flat index of the transparent padding Gaussian appended after the C * N real ones."""
        return self.n_cameras * self.n_gaussians


@torch.no_grad()
def build_tile_plan(
    means2d: Tensor,  # [C, N, 2]
    radii: Tensor,  # [C, N, 2] int, 0 where culled
    depths: Tensor,  # [C, N]
    width: int,
    height: int,
    tile_size: int = 16,
    chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
) -> TilePlan:
    """Bin Gaussians into tiles and sort each tile's list front to back."""
    C, N = depths.shape
    device = depths.device
    tx_n, ty_n = math.ceil(width / tile_size), math.ceil(height / tile_size)
    m = means2d.detach()
    r = radii.to(m.dtype)
    x0 = torch.floor((m[..., 0] - r[..., 0]) / tile_size).clamp(0, tx_n).long()
    x1 = torch.ceil((m[..., 0] + r[..., 0]) / tile_size).clamp(0, tx_n).long()
    y0 = torch.floor((m[..., 1] - r[..., 1]) / tile_size).clamp(0, ty_n).long()
    y1 = torch.ceil((m[..., 1] + r[..., 1]) / tile_size).clamp(0, ty_n).long()
    visible = (radii > 0).all(dim=-1)
    nx = torch.where(visible, x1 - x0, 0).clamp_min(0)
    ny = torch.where(visible, y1 - y0, 0).clamp_min(0)
    counts = (nx * ny).reshape(-1)  # [C * N]

    # Depth rank per camera (stable: equal depths keep index order, like gsplat's radix sort).
    order = torch.argsort(depths.detach(), dim=1, stable=True)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(N, device=device).expand(C, N))

    gid = torch.repeat_interleave(torch.arange(C * N, device=device), counts)  # [P]
    starts = torch.cumsum(counts, 0) - counts
    local = torch.arange(gid.numel(), device=device) - starts[gid]
    w = nx.reshape(-1)[gid]
    tx = x0.reshape(-1)[gid] + local % w.clamp_min(1)
    ty = y0.reshape(-1)[gid] + local // w.clamp_min(1)
    cam = gid // N
    tile = (cam * ty_n + ty) * tx_n + tx
    key = tile * N + rank.reshape(-1)[gid]
    key, perm = torch.sort(key)
    gauss_ids = gid[perm]
    tile_ids = key // N

    n_tiles = C * ty_n * tx_n
    tile_counts = torch.bincount(tile_ids, minlength=n_tiles)
    tile_offsets = torch.cumsum(tile_counts, 0) - tile_counts

    # Chunk busy tiles: sorted by count (descending), each chunk padded to its first tile.
    busy = torch.nonzero(tile_counts > 0).squeeze(1)
    by_count = busy[torch.argsort(tile_counts[busy], descending=True, stable=True)]
    sorted_counts = tile_counts[by_count].tolist()
    px = tile_size * tile_size
    chunks: list[tuple[Tensor, int]] = []
    i = 0
    while i < len(sorted_counts):
        K = int(sorted_counts[i])
        n = max(1, chunk_elements // (K * px))
        chunks.append((by_count[i : i + n], K))
        i += n
    return TilePlan(
        tile_size=tile_size,
        tiles_x=tx_n,
        tiles_y=ty_n,
        n_cameras=C,
        n_gaussians=N,
        gauss_ids=gauss_ids,
        tile_offsets=tile_offsets,
        tile_counts=tile_counts,
        tiles_per_gauss=counts.reshape(C, N),
        chunks=chunks,
    )


def _chunk_geometry(
    plan: TilePlan, tiles: Tensor, K: int, means2d: Tensor, conics: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Per chunk: padded Gaussian ids [T, K] and offsets dx, dy [T, K, px] and conic terms."""
    ts = plan.tile_size
    device = tiles.device
    kk = torch.arange(K, device=device)
    idx = plan.tile_offsets[tiles, None] + kk  # [T, K]
    valid = kk < plan.tile_counts[tiles, None]
    g = torch.where(valid, plan.gauss_ids[idx.clamp_max(plan.n_pairs - 1)], plan.dummy)
    local = tiles % (plan.tiles_x * plan.tiles_y)
    ox = (local % plan.tiles_x) * ts  # [T]
    oy = (local // plan.tiles_x) * ts
    p = torch.arange(ts * ts, device=device)
    dtype = means2d.dtype
    px = (ox[:, None] + p % ts).to(dtype) + 0.5  # [T, px]
    py = (oy[:, None] + p // ts).to(dtype) + 0.5
    mg = means2d[g]  # [T, K, 2]
    dx = mg[..., 0:1] - px[:, None, :]  # [T, K, px]
    dy = mg[..., 1:2] - py[:, None, :]
    cg = conics[g]  # [T, K, 3]
    return g, dx, dy, cg[..., 0:1], cg[..., 1:2], cg[..., 2:3]


def _chunk_alphas(
    dx: Tensor, dy: Tensor, ca: Tensor, cb: Tensor, cc: Tensor, o: Tensor, alpha_max: float
) -> tuple[Tensor, Tensor, Tensor]:
    """sigma-based alphas: returns (alpha with skips zeroed, raw o*exp(-sigma), keep mask)."""
    sigma = 0.5 * (ca * dx * dx + cc * dy * dy) + cb * dx * dy
    raw = o[..., None] * torch.exp(-sigma)
    keep = (sigma >= 0) & (raw >= ALPHA_THRESHOLD)
    alpha = torch.where(keep, raw.clamp_max(alpha_max), 0.0)
    return alpha, raw, keep


def _transmittance(alpha: Tensor, t_min: float) -> tuple[Tensor, Tensor, Tensor]:
    """Front-to-back weights: (one minus alpha, T before each splat, included mask)."""
    one_m = 1.0 - alpha
    t_incl = torch.cumprod(one_m, dim=1)
    t_excl = torch.empty_like(t_incl)
    t_excl[:, :1] = 1.0
    t_excl[:, 1:] = t_incl[:, :-1]
    on = t_incl > t_min  # a prefix along K, since t_incl never increases
    return one_m, t_excl, on


def _to_tiles(img: Tensor, plan: TilePlan) -> Tensor:
    """[C, H, W, F] image -> [C * ty * tx, ts * ts, F] tiles (zero-padded to whole tiles)."""
    C, H, W, F = img.shape
    ts = plan.tile_size
    Hp, Wp = plan.tiles_y * ts, plan.tiles_x * ts
    if (Hp, Wp) != (H, W):
        img = torch.nn.functional.pad(img, (0, 0, 0, Wp - W, 0, Hp - H))
    t = img.reshape(C, plan.tiles_y, ts, plan.tiles_x, ts, F).permute(0, 1, 3, 2, 4, 5)
    return t.reshape(C * plan.tiles_y * plan.tiles_x, ts * ts, F)


def _from_tiles(tiles: Tensor, plan: TilePlan, height: int, width: int) -> Tensor:
    """Inverse of :func:`_to_tiles`, cropped to ``height x width``."""
    ts = plan.tile_size
    F = tiles.shape[-1]
    t = tiles.reshape(plan.n_cameras, plan.tiles_y, plan.tiles_x, ts, ts, F)
    img = t.permute(0, 1, 3, 2, 4, 5).reshape(
        plan.n_cameras, plan.tiles_y * ts, plan.tiles_x * ts, F
    )
    return img[:, :height, :width]


class _Composite(torch.autograd.Function):
    """Tile compositing with a recomputing backward (memory bounded by the chunk budget)."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        means2d: Tensor,  # [M + 1, 2] flat over cameras, last row = transparent dummy
        conics: Tensor,  # [M + 1, 3]
        opacities: Tensor,  # [M + 1]
        features: Tensor,  # [M + 1, F]
        plan: TilePlan,
        height: int,
        width: int,
        alpha_max: float,
        t_min: float,
    ) -> Tensor:
        F = features.shape[1]
        n_tiles = plan.n_cameras * plan.tiles_y * plan.tiles_x
        px = plan.tile_size**2
        out = features.new_zeros(n_tiles, px, F + 1)  # last channel: alpha
        ones = features.new_ones(features.shape[0], 1)
        feat = torch.cat([features, ones], dim=1)
        for tiles, K in plan.chunks:
            g, dx, dy, ca, cb, cc = _chunk_geometry(plan, tiles, K, means2d, conics)
            alpha, _, _ = _chunk_alphas(dx, dy, ca, cb, cc, opacities[g], alpha_max)
            _, t_excl, on = _transmittance(alpha, t_min)
            w = alpha * t_excl * on  # [T, K, px]
            out[tiles] = torch.bmm(w.transpose(1, 2), feat[g])
        ctx.save_for_backward(means2d, conics, opacities, features)
        ctx.plan, ctx.hw, ctx.alpha_max, ctx.t_min = plan, (height, width), alpha_max, t_min
        return _from_tiles(out, plan, height, width)  # [C, H, W, F + 1]

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        means2d, conics, opacities, features = ctx.saved_tensors
        plan: TilePlan = ctx.plan
        g_tiles = _to_tiles(grad_out, plan)  # [tiles, px, F + 1]
        ones = features.new_ones(features.shape[0], 1)
        feat = torch.cat([features, ones], dim=1)
        d_means = torch.zeros_like(means2d)
        d_conics = torch.zeros_like(conics)
        d_opac = torch.zeros_like(opacities)
        d_feat = torch.zeros_like(feat)
        for tiles, K in plan.chunks:
            g, dx, dy, ca, cb, cc = _chunk_geometry(plan, tiles, K, means2d, conics)
            o = opacities[g]
            alpha, raw, keep = _chunk_alphas(dx, dy, ca, cb, cc, o, ctx.alpha_max)
            one_m, t_excl, on = _transmittance(alpha, ctx.t_min)
            w = alpha * t_excl * on
            go = g_tiles[tiles]  # [T, px, F + 1]
            fg = torch.bmm(feat[g], go.transpose(1, 2))  # [T, K, px] feature . grad
            d_feat.index_add_(0, g.reshape(-1), torch.bmm(w, go).reshape(-1, feat.shape[1]))
            s = w * fg
            suffix = s.sum(dim=1, keepdim=True) - torch.cumsum(s, dim=1)  # sum over j > i
            d_alpha = (t_excl * fg - suffix / one_m) * on
            d_raw = d_alpha * (keep & (raw < ctx.alpha_max))
            d_sigma = -d_raw * raw  # [T, K, px]
            d_o = (d_raw * raw).sum(-1) / o.clamp_min(1e-30)
            sdx, sdy = d_sigma * dx, d_sigma * dy
            d_a = 0.5 * (sdx * dx).sum(-1)
            d_b = (sdx * dy).sum(-1)
            d_c = 0.5 * (sdy * dy).sum(-1)
            d_mx = ca[..., 0] * sdx.sum(-1) + cb[..., 0] * sdy.sum(-1)
            d_my = cc[..., 0] * sdy.sum(-1) + cb[..., 0] * sdx.sum(-1)
            gf = g.reshape(-1)
            d_means.index_add_(0, gf, torch.stack([d_mx, d_my], -1).reshape(-1, 2))
            d_conics.index_add_(0, gf, torch.stack([d_a, d_b, d_c], -1).reshape(-1, 3))
            d_opac.index_add_(0, gf, d_o.reshape(-1))
        d_means[-1] = 0
        d_conics[-1] = 0
        d_opac[-1] = 0
        return (d_means, d_conics, d_opac, d_feat[:, :-1], None, None, None, None, None)


def composite(
    means2d: Tensor,  # [C, N, 2]
    conics: Tensor,  # [C, N, 3]
    opacities: Tensor,  # [C, N]
    features: Tensor,  # [C, N, F]
    plan: TilePlan,
    width: int,
    height: int,
    alpha_max: float,
    t_min: float,
) -> tuple[Tensor, Tensor]:
    """Composite per-camera features front to back: -> (features [C,H,W,F], alpha [C,H,W,1])."""
    C, N, F = features.shape

    def flat(x: Tensor, d: int) -> Tensor:
        x = x.reshape(C * N, d) if d else x.reshape(C * N)
        pad = x.new_zeros((1, d) if d else (1,))
        return torch.cat([x, pad], dim=0).contiguous()

    out = _Composite.apply(
        flat(means2d, 2), flat(conics, 3), flat(opacities, 0), flat(features, F),
        plan, height, width, alpha_max, t_min,
    )  # fmt: skip
    return out[..., :F], out[..., F:]
