"""Brute-force compositing references: every Gaussian against every pixel, no tiles.

Two independent formulations of the same rules as the tile rasterizer (and gsplat's kernel):

* :func:`composite_sequential` walks the depth-sorted Gaussians one by one with a per-pixel
  transmittance and ``done`` flag, exactly like the CUDA kernel's inner loop (vectorised over
  pixels only). Slow, obviously right; used by the tests.
* :func:`composite_dense` evaluates all Gaussians x all pixels at once per pixel chunk with a
  cumulative product. This is the naive vectorised renderer the benchmark compares against.

Both are differentiable through plain autograd.
"""

from __future__ import annotations

import torch
from torch import Tensor

from headforge.splat.projection import ALPHA_THRESHOLD


def _pixel_centres(width: int, height: int, like: Tensor) -> tuple[Tensor, Tensor]:
    ys, xs = torch.meshgrid(
        torch.arange(height, device=like.device, dtype=like.dtype),
        torch.arange(width, device=like.device, dtype=like.dtype),
        indexing="ij",
    )
    return xs.reshape(-1) + 0.5, ys.reshape(-1) + 0.5  # [H * W] each


def composite_sequential(
    means2d: Tensor,  # [C, N, 2]
    conics: Tensor,  # [C, N, 3]
    opacities: Tensor,  # [C, N]
    features: Tensor,  # [C, N, F]
    depths: Tensor,  # [C, N]
    usable: Tensor,  # [C, N] bool, Gaussians taking part (in front of the camera, etc.)
    width: int,
    height: int,
    alpha_max: float,
    t_min: float,
) -> tuple[Tensor, Tensor]:
    """Kernel-style loop over depth-sorted Gaussians -> (features [C,H,W,F], alpha [C,H,W,1])."""
    C, N, F = features.shape
    px, py = _pixel_centres(width, height, means2d)
    images, alphas = [], []
    for c in range(C):
        order = [int(i) for i in torch.argsort(depths[c].detach(), stable=True) if usable[c, i]]
        T = torch.ones_like(px)
        done = torch.zeros_like(px, dtype=torch.bool)
        acc = features.new_zeros(px.shape[0], F)
        for i in order:
            dx = means2d[c, i, 0] - px
            dy = means2d[c, i, 1] - py
            a, b, cc = conics[c, i]
            sigma = 0.5 * (a * dx * dx + cc * dy * dy) + b * dx * dy
            alpha = torch.clamp(opacities[c, i] * torch.exp(-sigma), max=alpha_max)
            skip = (sigma < 0) | (alpha < ALPHA_THRESHOLD)
            next_T = T * (1 - alpha)
            stop = ~done & ~skip & (next_T <= t_min)
            done = done | stop
            use = ~done & ~skip
            acc = acc + torch.where(use[:, None], (alpha * T)[:, None] * features[c, i], 0.0)
            T = torch.where(use, next_T, T)
        images.append(acc.reshape(height, width, F))
        alphas.append((1 - T).reshape(height, width, 1))
    return torch.stack(images), torch.stack(alphas)


def composite_dense(
    means2d: Tensor,  # [C, N, 2]
    conics: Tensor,  # [C, N, 3]
    opacities: Tensor,  # [C, N]
    features: Tensor,  # [C, N, F]
    depths: Tensor,  # [C, N]
    usable: Tensor,  # [C, N] bool
    width: int,
    height: int,
    alpha_max: float,
    t_min: float,
    pixel_chunk: int = 4096,
) -> tuple[Tensor, Tensor]:
    """All Gaussians x all pixels per chunk, cumprod compositing -> (features, alpha)."""
    C, N, F = features.shape
    px, py = _pixel_centres(width, height, means2d)
    images, alphas = [], []
    for c in range(C):
        idx = torch.argsort(depths[c].detach(), stable=True)
        idx = idx[usable[c, idx]]
        m, q, o, f = means2d[c, idx], conics[c, idx], opacities[c, idx], features[c, idx]
        out_chunks, a_chunks = [], []
        for s in range(0, px.shape[0], pixel_chunk):
            dx = m[:, 0:1] - px[None, s : s + pixel_chunk]  # [n, P]
            dy = m[:, 1:2] - py[None, s : s + pixel_chunk]
            sigma = 0.5 * (q[:, 0:1] * dx * dx + q[:, 2:3] * dy * dy) + q[:, 1:2] * dx * dy
            raw = o[:, None] * torch.exp(-sigma)
            keep = (sigma >= 0) & (raw >= ALPHA_THRESHOLD)
            alpha = torch.where(keep, raw.clamp(max=alpha_max), 0.0)
            t_incl = torch.cumprod(1 - alpha, dim=0)
            t_excl = torch.cat([torch.ones_like(t_incl[:1]), t_incl[:-1]], dim=0)
            w = alpha * t_excl * (t_incl > t_min)  # [n, P]
            out_chunks.append(w.T @ f)
            a_chunks.append(w.sum(0))
        images.append(torch.cat(out_chunks).reshape(height, width, F))
        alphas.append(torch.cat(a_chunks).reshape(height, width, 1))
    return torch.stack(images), torch.stack(alphas)
