"""A structured demo scene and picture helpers (used by ``headforge splat demo`` and docs)."""

from __future__ import annotations

import colorsys
import math
import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from headforge.io_utils import atomic_path
from headforge.splat.gaussians import GaussianParams, rgb_to_sh_dc
from headforge.splat.projection import rotmat_to_quat
from headforge.splat.render import RenderOutput


def torus_knot_scene(n_knot: int = 3000, n_shell: int = 1500, seed: int = 0) -> GaussianParams:
    """Elongated Gaussians along a (2, 3) torus knot plus a shell with view-dependent colour."""
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 2 * math.pi, n_knot + 1, dtype=torch.float64)[:-1]
    p, q = 2.0, 3.0

    def knot(s: Tensor) -> Tensor:
        r = 0.35 + 0.15 * torch.cos(q * s)
        y = 0.15 * torch.sin(q * s)
        return torch.stack([r * torch.cos(p * s), y, r * torch.sin(p * s)], -1)

    pts = knot(t) + 0.01 * torch.randn(n_knot, 3, generator=g, dtype=torch.float64)
    tangent = knot(t + 1e-3) - knot(t - 1e-3)
    x = tangent / tangent.norm(dim=-1, keepdim=True)
    up = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64).expand_as(x)
    z = torch.linalg.cross(x, up)
    z = z / z.norm(dim=-1, keepdim=True)
    y = torch.linalg.cross(z, x)
    quats = rotmat_to_quat(torch.stack([x, y, z], dim=-1))
    scales = torch.tensor([0.02, 0.006, 0.006], dtype=torch.float64).expand(n_knot, 3).clone()
    hue = (t / (2 * math.pi)).tolist()
    rgb = torch.tensor([colorsys.hsv_to_rgb(h, 0.75, 0.95) for h in hue], dtype=torch.float64)

    d = torch.randn(n_shell, 3, generator=g, dtype=torch.float64)
    d = d / d.norm(dim=-1, keepdim=True)
    shell = 0.12 * d
    K = 4  # SH degree 1: colour changes with the viewing direction
    sh = torch.zeros(n_knot + n_shell, K, 3, dtype=torch.float64)
    sh[:n_knot, 0] = rgb_to_sh_dc(rgb)
    sh[n_knot:, 0] = rgb_to_sh_dc(torch.tensor([0.8, 0.8, 0.85], dtype=torch.float64))
    sh[n_knot:, 1:, :] = 0.6 * torch.randn(n_shell, 3, 3, generator=g, dtype=torch.float64)
    means = torch.cat([pts, shell])
    all_quats = torch.cat([quats, torch.randn(n_shell, 4, generator=g, dtype=torch.float64)])
    all_scales = torch.cat([scales, torch.full((n_shell, 3), 0.012, dtype=torch.float64)])
    opac = torch.cat([torch.full((n_knot,), 0.9), torch.full((n_shell,), 0.7)]).double()
    return GaussianParams.from_activated(means, all_quats, all_scales, opac, sh=sh).to(
        dtype=torch.float32
    )


def depth_to_rgb(depth: Tensor, alpha: Tensor) -> np.ndarray:
    """Colour-mapped depth [H, W, 1] (near = bright), black where alpha is ~0 -> uint8 [H,W,3]."""
    from matplotlib import colormaps

    d = depth[..., 0].detach().cpu().numpy()
    a = alpha[..., 0].detach().cpu().numpy()
    mask = a > 0.05
    out = np.zeros((*d.shape, 3), np.float64)
    if mask.any():
        lo, hi = np.percentile(d[mask], [1, 99])
        v = np.clip((hi - d) / max(hi - lo, 1e-9), 0, 1)
        out = colormaps["magma"](0.15 + 0.85 * v)[..., :3] * a[..., None]
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


def panels(out: RenderOutput, camera: int = 0) -> np.ndarray:
    """Image | alpha | depth for one camera, side by side, uint8 [H, 3W, 3]."""
    img = (out.image[camera].detach().cpu().clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)
    a = (out.alpha[camera].detach().cpu().numpy() * 255 + 0.5).astype(np.uint8)
    return np.concatenate(
        [img[..., :3], np.repeat(a, 3, -1), depth_to_rgb(out.depth[camera], out.alpha[camera])],
        axis=1,
    )


def save_png(path: str | os.PathLike[str], rgb: np.ndarray) -> Path:
    """Write a uint8 [H, W, 3] array as PNG (atomically)."""
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(rgb).save(tmp, format="PNG")
    return Path(path)


def head_poses(model, n_expr: int) -> dict[str, dict[str, Tensor]]:
    """Three named poses of the head model: neutral, smile + open jaw, brow raise + turn."""
    from headforge.morphable.builtin_bases import EXPRESSION_NAMES

    def expr(**w: float) -> Tensor:
        e = torch.zeros(1, n_expr)
        for name, v in w.items():
            if name in EXPRESSION_NAMES and EXPRESSION_NAMES.index(name) < n_expr:
                e[0, EXPRESSION_NAMES.index(name)] = v
        return e

    return {
        "neutral": {},
        "smile_jaw": {"expr": expr(smile=0.9), "jaw_pose": torch.tensor([[0.25, 0.0, 0.0]]),
                      "rotation": torch.tensor([[0.0, 0.35, 0.0]])},
        "brows_turn": {"expr": expr(brow_raise=1.0, pucker=0.6),
                       "rotation": torch.tensor([[-0.15, -0.45, 0.1]])},
    }  # fmt: skip


def head_bound_scene(model, face_stride: int = 1) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Gaussians bound to the head mesh: three flat discs per triangle, albedo-coloured.

    Returns (face_ids [N], bary [N, 3], rgb [N, 3], local_log_scales [N, 3]).
    """
    from headforge.morphable.appearance import albedo

    faces = model.faces[::face_stride]
    fid = torch.arange(0, model.faces.shape[0], face_stride).repeat_interleave(3)
    b = torch.tensor([[4, 1, 1], [1, 4, 1], [1, 1, 4]], dtype=torch.float32) / 6.0
    bary = b.repeat(faces.shape[0], 1)
    with torch.no_grad():
        neutral = model()
    rest = neutral.vertices[0].float()
    corners = rest[model.faces[fid]]  # [N, 3, 3]
    anchors = (bary[..., None] * corners).sum(1)
    labels = model.part_labels[model.faces[fid, bary.argmax(1)]]
    lm = neutral.landmarks68
    mouth_y = float(lm[0, 60:68, 1].mean()) if lm is not None else -0.032
    eyes = neutral.joints[0, 3:5].double().numpy()
    rgb = albedo(anchors.double().numpy(), labels.numpy(), eyes, mouth_y)
    log_scales = torch.log(torch.tensor([0.5, 0.5, 0.08])).expand(fid.shape[0], 3)
    return fid, bary, torch.from_numpy(rgb).float(), log_scales


def head_picture(size: int = 256, face_stride: int = 1, backend: str = "auto") -> np.ndarray:
    """Gaussians bound to the head model's triangles in three poses (columns), seen from the
    front and from a 3/4 view (rows): uint8 [2 size, 3 size, 3]."""
    from headforge.morphable import load_head_model
    from headforge.splat.gaussians import bind_to_triangles, triangle_frames
    from headforge.splat.render import rasterize
    from headforge.splat.scenes import orbit_cameras

    model = load_head_model()
    fid, bary, rgb, log_scales = head_bound_scene(model, face_stride)
    n = fid.shape[0]
    viewmats, Ks = orbit_cameras(2, size, size, radius=0.75, fov_deg=30.0, elevation_deg=8.0,
                                 target=(0.0, -0.03, 0.0), azimuth_span_deg=80.0)  # fmt: skip
    light = torch.tensor([0.35, 0.45, 0.82])
    light = light / light.norm()
    cols = []
    with torch.no_grad():
        for pose in head_poses(model, model.n_expr).values():
            verts = model(**pose).vertices.float()  # [1, V, 3]
            frames = triangle_frames(verts, model.faces)
            g = bind_to_triangles(fid, bary, torch.zeros(n, 3), torch.tensor([1.0, 0, 0, 0])
                                  .expand(n, 4), log_scales, frames)  # fmt: skip
            normal = frames.R[0, fid, :, 2]  # [N, 3]
            shade = 0.45 + 0.55 * (normal @ light).abs()
            out = rasterize(g.means[0], g.quats[0], g.scales[0], torch.full((n,), 0.95),
                            rgb * shade[:, None], viewmats, Ks, size, size,
                            background=torch.ones(3), backend=backend)  # type: ignore[arg-type]
            cols.append(out.image.clamp(0, 1).reshape(2 * size, size, 3))
    img = torch.cat(cols, dim=1).numpy()
    return (img * 255 + 0.5).astype(np.uint8)
