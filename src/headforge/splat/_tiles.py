"""Tile binning for the torch rasterizer: (tile, Gaussian) pairs, depth order, chunks."""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import Tensor

from headforge.splat.projection import ALPHA_THRESHOLD

DEFAULT_CHUNK_ELEMENTS = 1 << 18
"""Default budget of (tile, Gaussian, pixel) elements evaluated at once (1 MB per float32
tensor: small enough to stay in cache, large enough to amortise per-op overhead)."""


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


def _edge_min(q0: Tensor, q1: Tensor, q2: Tensor, e: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    """min over f in [lo, hi] of 0.5 q0 e^2 + q1 e f + 0.5 q2 f^2 (q2 > 0)."""
    f = (-q1 * e / q2).clamp(min=lo, max=hi)
    return 0.5 * q0 * e * e + q1 * e * f + 0.5 * q2 * f * f


def ellipse_hits_tile(
    mean: Tensor,  # [P, 2] pixel centre of the Gaussian
    conic: Tensor,  # [P, 3] (a, b, c)
    opacity: Tensor,  # [P]
    x0: Tensor,  # [P] first pixel-centre x of the tile
    y0: Tensor,  # [P]
    tile_size: int,
) -> Tensor:
    """[P] bool: some point of the tile's pixel-centre rectangle reaches alpha >= 1/255.

    Exact minimum of the Gaussian exponent over the rectangle (0 inside, else the best of the
    four edges), so dropping the other pairs never changes an image. Evaluated in float64
    with a small margin, so rounding can only keep a pair, never drop a needed one.
    """
    m, q, o = mean.double(), conic.double(), opacity.double()
    a, b, c = q[:, 0], q[:, 1], q[:, 2]
    span = float(tile_size - 1)
    u_lo = m[:, 0] - (x0.double() + span)  # dx = mean - pixel, over the rectangle
    u_hi = m[:, 0] - x0.double()
    v_lo = m[:, 1] - (y0.double() + span)
    v_hi = m[:, 1] - y0.double()
    inside = (u_lo <= 0) & (u_hi >= 0) & (v_lo <= 0) & (v_hi >= 0)
    best = torch.minimum(
        torch.minimum(_edge_min(a, b, c, u_lo, v_lo, v_hi), _edge_min(a, b, c, u_hi, v_lo, v_hi)),
        torch.minimum(_edge_min(c, b, a, v_lo, u_lo, u_hi), _edge_min(c, b, a, v_hi, u_lo, u_hi)),
    )
    best = torch.where(inside, torch.zeros_like(best), best)
    limit = torch.log(o.clamp_min(1e-30) / ALPHA_THRESHOLD)  # alpha >= thr  <=>  sigma <= limit
    return best <= limit + 1e-6 * (1 + limit.abs())


@torch.no_grad()
def build_tile_plan(
    means2d: Tensor,  # [C, N, 2]
    conics: Tensor,  # [C, N, 3]
    opacities: Tensor,  # [C, N]
    radii: Tensor,  # [C, N, 2] int, 0 where culled
    depths: Tensor,  # [C, N]
    width: int,
    height: int,
    tile_size: int = 16,
    chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
) -> TilePlan:
    """Bin Gaussians into tiles, drop pairs whose ellipse misses the tile, sort by depth."""
    C, N = depths.shape
    device = depths.device
    ts = tile_size
    tx_n, ty_n = math.ceil(width / ts), math.ceil(height / ts)
    m = means2d.detach()
    r = radii.to(m.dtype)
    x0 = torch.floor((m[..., 0] - r[..., 0]) / ts).clamp(0, tx_n).long()
    x1 = torch.ceil((m[..., 0] + r[..., 0]) / ts).clamp(0, tx_n).long()
    y0 = torch.floor((m[..., 1] - r[..., 1]) / ts).clamp(0, ty_n).long()
    y1 = torch.ceil((m[..., 1] + r[..., 1]) / ts).clamp(0, ty_n).long()
    visible = (radii > 0).all(dim=-1)
    nx = torch.where(visible, x1 - x0, 0).clamp_min(0)
    ny = torch.where(visible, y1 - y0, 0).clamp_min(0)
    counts = (nx * ny).reshape(-1)  # [C * N]

    gid = torch.repeat_interleave(torch.arange(C * N, device=device), counts)  # [P]
    starts = torch.cumsum(counts, 0) - counts
    local = torch.arange(gid.numel(), device=device) - starts[gid]
    w = nx.reshape(-1)[gid].clamp_min(1)
    tx = x0.reshape(-1)[gid] + local % w
    ty = y0.reshape(-1)[gid] + local // w
    hit = ellipse_hits_tile(m.reshape(-1, 2)[gid], conics.detach().reshape(-1, 3)[gid],
                            opacities.detach().reshape(-1)[gid], tx * ts + 0.5, ty * ts + 0.5,
                            ts)  # fmt: skip
    gid, tx, ty = gid[hit], tx[hit], ty[hit]

    # Depth rank per camera (stable: equal depths keep index order, like gsplat's radix sort).
    order = torch.argsort(depths.detach(), dim=1, stable=True)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(N, device=device).expand(C, N))
    tile = ((gid // N) * ty_n + ty) * tx_n + tx
    key, perm = torch.sort(tile * N + rank.reshape(-1)[gid])
    gauss_ids = gid[perm]
    n_tiles = C * ty_n * tx_n
    tile_counts = torch.bincount(key // N, minlength=n_tiles)
    tile_offsets = torch.cumsum(tile_counts, 0) - tile_counts

    # Chunk busy tiles: sorted by count (descending), each chunk padded to its first tile.
    busy = torch.nonzero(tile_counts > 0).squeeze(1)
    by_count = busy[torch.argsort(tile_counts[busy], descending=True, stable=True)]
    sorted_counts = tile_counts[by_count].tolist()
    chunks: list[tuple[Tensor, int]] = []
    i = 0
    while i < len(sorted_counts):
        K = int(sorted_counts[i])
        n = max(1, chunk_elements // (K * ts * ts))
        chunks.append((by_count[i : i + n], K))
        i += n
    return TilePlan(
        tile_size=ts,
        tiles_x=tx_n,
        tiles_y=ty_n,
        n_cameras=C,
        n_gaussians=N,
        gauss_ids=gauss_ids,
        tile_offsets=tile_offsets,
        tile_counts=tile_counts,
        tiles_per_gauss=torch.bincount(gid, minlength=C * N).reshape(C, N),
        chunks=chunks,
    )
