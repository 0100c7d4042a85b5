"""Pure-torch tile rasterizer: the CPU path, and the reference for the gsplat (CUDA) path.

Pipeline (all vectorised, no Python loop over Gaussians or pixels):

1. :func:`build_tile_plan` (in ``_tiles``) — each visible Gaussian's pixel box is cut into the
   ``tile_size``-square tiles it touches; pairs whose ellipse misses the tile are dropped; the
   (tile, Gaussian) pairs are sorted by (camera, tile, depth) and tiles grouped into chunks of
   similar pair counts (padded to the largest in the chunk) under an element budget.
2. :class:`_Composite` evaluates ``[tiles, K, tile_size^2]`` alphas per chunk and composites
   front to back with the kernel's rules: alpha = min(alpha_max, o exp(-sigma)); skip alpha <
   1/255; stop (exclusive) once transmittance would fall to <= ``t_min``. The Gaussian falloff
   is separable over a tile's pixel rows and columns, which keeps the work per element to a
   few passes. Backward recomputes each chunk instead of storing it (memory bounded by the
   chunk budget) and reduces the per-pixel derivatives with row/column sums.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from headforge.splat._tiles import DEFAULT_CHUNK_ELEMENTS, TilePlan, build_tile_plan
from headforge.splat.projection import ALPHA_THRESHOLD

__all__ = ["DEFAULT_CHUNK_ELEMENTS", "TilePlan", "build_tile_plan", "composite"]




def _below_threshold(dtype: torch.dtype) -> float:
    """Largest ``dtype`` value below 1/255: ``threshold(x, it)`` keeps exactly x >= 1/255."""
    t = torch.tensor(ALPHA_THRESHOLD, dtype=dtype)
    return float(torch.nextafter(t, torch.zeros_like(t)))


class _Chunk:
    """Per-chunk Gaussian data and the separable pieces of the exponent."""

    def __init__(self, plan: TilePlan, tiles: Tensor, K: int, packed: Tensor) -> None:
        ts = plan.tile_size
        kk = torch.arange(K, device=tiles.device)
        idx = plan.tile_offsets[tiles, None] + kk  # [T, K]
        valid = kk < plan.tile_counts[tiles, None]
        self.g = torch.where(valid, plan.gauss_ids[idx.clamp_max(plan.n_pairs - 1)], plan.dummy)
        local = tiles % (plan.tiles_x * plan.tiles_y)
        dtype = packed.dtype
        ox = ((local % plan.tiles_x) * ts).to(dtype)  # [T]
        oy = ((local // plan.tiles_x) * ts).to(dtype)
        lin = torch.arange(ts, device=tiles.device, dtype=dtype) + 0.5  # [ts]
        rec = packed[self.g]  # [T, K, 6 + F + 1]: x, y, a, b, c, o, features..., 1
        self.dx = (rec[..., 0] - ox[:, None])[..., None] - lin  # [T, K, ts] per pixel column
        self.dy = (rec[..., 1] - oy[:, None])[..., None] - lin  # [T, K, ts] per pixel row
        self.a, self.b, self.c, self.o = rec[..., 2], rec[..., 3], rec[..., 4], rec[..., 5]
        self.feat = rec[..., 6:]  # [T, K, F + 1]
        self.may_clamp = False
        self.shape = (tiles.shape[0], K, ts * ts)

    def raw(self) -> Tensor:
        """o * exp(-sigma) for every (tile, Gaussian, pixel): [T, K, ts * ts]."""
        T, K, _ = self.shape
        ts = self.dx.shape[-1]
        n_a = (-0.5 * self.a)[..., None] * self.dx * self.dx  # [T, K, ts] columns
        n_c = (-0.5 * self.c)[..., None] * self.dy * self.dy  # [T, K, ts] rows
        n_b = (-self.b)[..., None] * self.dy
        e = n_c[..., :, None] + n_a[..., None, :]  # [T, K, ts(row), ts(col)]
        e.addcmul_(n_b[..., :, None], self.dx[..., None, :])
        e.exp_()
        e.mul_(self.o[..., None, None])
        return e.reshape(T, K, ts * ts)

    def alpha(self, raw: Tensor, alpha_max: float, inplace: bool) -> Tensor:
        """min(alpha_max, raw), zeroed below 1/255 (no bool masks: they are slow on CPU)."""
        self.may_clamp = bool((self.o >= alpha_max).any())  # raw <= o: else nothing clamps
        below = _below_threshold(raw.dtype)
        alpha = torch.nn.functional.threshold(raw, below, 0.0, inplace=inplace)
        if self.may_clamp:
            alpha.clamp_max_(alpha_max)
        return alpha


def _transmittance(alpha: Tensor, t_min: float) -> tuple[Tensor, Tensor, bool]:
    """-> (one minus alpha, T after each splat, whether any pixel reached the stop)."""
    one_m = 1.0 - alpha
    t_incl = torch.cumprod(one_m, dim=1)
    return one_m, t_incl, bool((t_incl[:, -1] <= t_min).any())  # t_incl falls along K


def _weights(alpha: Tensor, one_m: Tensor, t_incl: Tensor, stopped: bool, t_min: float) -> Tensor:
    """Blend weights alpha_i * T_before_i, zero from the stopping splat on."""
    if stopped:  # alpha_i T_before_i = alpha_i / (1 - alpha_i) * T_after_i; T_after <= t_min -> 0
        w = torch.nn.functional.threshold(t_incl, t_min, 0.0)
        return w.mul_(alpha).div_(one_m)
    w = torch.empty_like(alpha)
    w[:, :1] = alpha[:, :1]
    torch.mul(alpha[:, 1:], t_incl[:, :-1], out=w[:, 1:])
    return w


def _pack(means2d: Tensor, conics: Tensor, opacities: Tensor, features: Tensor) -> Tensor:
    """One row per Gaussian, so each chunk needs a single gather: [M + 1, 6 + F + 1]."""
    ones = features.new_ones(features.shape[0], 1)
    return torch.cat([means2d, conics, opacities[:, None], features, ones], dim=1)


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
        out = features.new_zeros(n_tiles, F + 1, plan.tile_size**2)  # last channel: alpha
        packed = _pack(means2d, conics, opacities, features)
        for tiles, K in plan.chunks:
            ch = _Chunk(plan, tiles, K, packed)
            alpha = ch.alpha(ch.raw(), alpha_max, inplace=True)
            one_m, t_incl, stopped = _transmittance(alpha, t_min)
            w = _weights(alpha, one_m, t_incl, stopped, t_min)
            out[tiles] = torch.bmm(ch.feat.transpose(1, 2).contiguous(), w)  # [T, F + 1, px]
        out = out.transpose(1, 2)
        ctx.save_for_backward(means2d, conics, opacities, features)
        ctx.plan, ctx.alpha_max, ctx.t_min = plan, alpha_max, t_min
        return _from_tiles(out, plan, height, width)  # [C, H, W, F + 1]

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        means2d, conics, opacities, features = ctx.saved_tensors
        plan: TilePlan = ctx.plan
        ts, alpha_max, t_min = plan.tile_size, ctx.alpha_max, ctx.t_min
        g_tiles = _to_tiles(grad_out, plan).transpose(1, 2).contiguous()  # [tiles, F + 1, px]
        packed = _pack(means2d, conics, opacities, features)
        d_means = torch.zeros_like(means2d)
        d_conics = torch.zeros_like(conics)
        d_opac = torch.zeros_like(opacities)
        d_feat = torch.zeros(features.shape[0], features.shape[1] + 1, dtype=features.dtype,
                             device=features.device)  # fmt: skip
        for tiles, K in plan.chunks:
            ch = _Chunk(plan, tiles, K, packed)
            alpha = ch.alpha(ch.raw(), alpha_max, inplace=True)
            one_m, t_incl, stopped = _transmittance(alpha, t_min)
            w = _weights(alpha, one_m, t_incl, stopped, t_min)
            go = g_tiles[tiles]  # [T, F + 1, px]
            fg = torch.bmm(ch.feat, go)  # [T, K, px] feature . grad
            gw = torch.bmm(go, w.transpose(1, 2))  # [T, F + 1, K]
            d_feat.index_add_(0, ch.g.reshape(-1), gw.transpose(1, 2).reshape(-1, go.shape[1]))
            # d alpha_i = T_before_i f_i.g - (sum_{j>i} w_j f_j.g) / (1 - alpha_i)
            suffix = torch.cumsum(w.mul_(fg), dim=1)
            total = suffix[:, -1:].clone()
            suffix.neg_().add_(total).div_(one_m)
            del w, one_m
            fg[:, 1:].mul_(t_incl[:, :-1])
            d_alpha = fg.sub_(suffix)
            del suffix
            if stopped:
                d_alpha.mul_(torch.nn.functional.threshold(t_incl, t_min, 0.0).sign_())
            del t_incl
            # through alpha = min(alpha_max, raw), skipped when raw < 1/255:
            # g_raw = d alpha * raw where 1/255 <= raw < alpha_max, which is d L / d(-sigma)
            if ch.may_clamp:
                alpha = torch.nn.functional.threshold(alpha.neg_(), -alpha_max, 0.0).neg_()
            g_raw = d_alpha.mul_(alpha)
            del alpha
            T = tiles.shape[0]
            gs = g_raw.reshape(T, K, ts, ts)  # [T, K, row, col]
            s_col = gs.sum(dim=2)  # [T, K, ts] summed over rows
            s_row = gs.sum(dim=3)  # [T, K, ts] summed over columns
            m_row = (gs @ ch.dx[..., None]).squeeze(-1)  # [T, K, ts] sum_col g dx
            del gs, g_raw
            sum_dx = (s_col * ch.dx).sum(-1)
            sum_dy = (s_row * ch.dy).sum(-1)
            # sigma = 0.5 a dx^2 + b dx dy + 0.5 c dy^2; d sigma = -g_raw
            d_a = -0.5 * (s_col * ch.dx * ch.dx).sum(-1)
            d_c = -0.5 * (s_row * ch.dy * ch.dy).sum(-1)
            d_b = -(m_row * ch.dy).sum(-1)
            d_mx = -(ch.a * sum_dx + ch.b * sum_dy)
            d_my = -(ch.c * sum_dy + ch.b * sum_dx)
            d_o = s_col.sum(-1) / ch.o.clamp_min(1e-30)
            gf = ch.g.reshape(-1)
            d_means.index_add_(0, gf, torch.stack([d_mx, d_my], -1).reshape(-1, 2))
            d_conics.index_add_(0, gf, torch.stack([d_a, d_b, d_c], -1).reshape(-1, 3))
            d_opac.index_add_(0, gf, d_o.reshape(-1))
        for t in (d_means, d_conics, d_opac):
            t[-1] = 0
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
