"""Dense refinement term: the head as triangle-bound Gaussians with a per-subject albedo,
rendered through :func:`headforge.splat.render.rasterize` and compared with the images.

* photometric: L1 between the image and the render composited over the image itself (pixels
  the head does not cover cost nothing; coverage still gets gradients), inside the mask;
* silhouette: rendered alpha outside the foreground mask. It is one-sided on purpose: the
  model is a bald head without shoulders, so a mask that also holds hair, neck or clothes
  must not pull the head outward.

One Gaussian sits at the centroid of every triangle of the chosen parts (flat, covering its
triangle); degenerate triangles (zero-length edges) are skipped. Each step renders a random
subset of views (``views_per_step``) at ``resolution`` pixels across, which bounds the cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from headforge.morphable import PART_NAMES
from headforge.optim import Phase
from headforge.splat.gaussians import bind_to_triangles, triangle_frames
from headforge.splat.render import Backend, rasterize
from headforge.track import energies as E

DEFAULT_PARTS = ("face", "eyes", "mouth", "ears", "scalp")
_LOCAL_SCALE = (0.6, 0.6, 0.08)  # of the triangle's size: flat discs covering the triangle
_OPACITY = 0.97


def select_triangles(model: Any, parts: Sequence[str]) -> Tensor:
    """[N] ids of non-degenerate triangles whose three vertices are all in ``parts``."""
    unknown = [p for p in parts if p not in PART_NAMES]
    if unknown:
        raise ValueError(f"track.dense_parts: unknown part(s) {unknown}; parts are {PART_NAMES}")
    ids = torch.tensor([PART_NAMES.index(p) for p in parts])
    in_part = torch.isin(model.part_labels, ids)
    faces = model.faces
    keep = in_part[faces].all(1)
    v = model.v_template
    tri = v[faces]
    edges = torch.stack([tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 1], tri[:, 0] - tri[:, 2]], 1)
    shortest = edges.norm(dim=-1).min(1).values
    keep &= shortest > 1e-3 * float(shortest.median())
    return torch.nonzero(keep)[:, 0]


class GaussianHead:
    """Triangle-bound Gaussians with a per-subject albedo; renders posed meshes."""

    def __init__(
        self, model: Any, parts: Sequence[str] = DEFAULT_PARTS, backend: Backend = "torch"
    ) -> None:
        self.faces = model.faces
        self.face_ids = select_triangles(model, parts)
        n = len(self.face_ids)
        self.bary = torch.full((n, 3), 1.0 / 3.0)
        self.offset = torch.zeros(n, 3)
        self.quats = torch.tensor([1.0, 0.0, 0.0, 0.0]).expand(n, 4)
        self.log_scales = torch.log(torch.tensor(_LOCAL_SCALE)).expand(n, 3)
        self.opacity = torch.full((n,), _OPACITY)
        self.albedo_logit = torch.zeros(n, 3)
        """Raw per-Gaussian colour (sigmoid gives RGB in (0, 1)); the optimised albedo."""
        self.backend = backend

    @property
    def n(self) -> int:
        return int(len(self.face_ids))

    def geometry(self, vertices: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(means, quats, scales) [B, N, ...] of the Gaussians on meshes ``vertices`` [B, V, 3]."""
        frames = triangle_frames(vertices, self.faces[self.face_ids])
        g = bind_to_triangles(
            torch.arange(self.n), self.bary, self.offset, self.quats, self.log_scales, frames
        )
        return g.means, g.quats, g.scales

    def render(
        self,
        vertices: Tensor,
        K: Tensor,
        w2c: Tensor,
        width: int,
        height: int,
        albedo: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Render mesh ``vertices`` [V, 3] into cameras K [C, 3, 3], w2c [C, 4, 4]:
        -> (rgb [C, H, W, 3] on black, alpha [C, H, W, 1])."""
        means, quats, scales = self.geometry(vertices[None])
        colors = torch.sigmoid(self.albedo_logit) if albedo is None else albedo
        out = rasterize(
            means[0],
            quats[0],
            scales[0],
            self.opacity,
            colors,
            w2c,
            K,
            width,
            height,
            backend=self.backend,
        )
        return out.image, out.alpha

    @torch.no_grad()
    def init_albedo(self, vertices: Tensor, images: Tensor, K: Tensor, w2c: Tensor) -> None:
        """Albedo from the images: each Gaussian takes the mean colour it projects onto in the
        views it faces. vertices [C, V, 3] (one mesh per view), images [C, H, W, 3]."""
        means, quats, _ = self.geometry(vertices)
        frames = triangle_frames(vertices, self.faces[self.face_ids])
        normals = frames.R[..., 2]  # [C, N, 3]
        c2w_t = -(w2c[:, :3, :3].transpose(1, 2) @ w2c[:, :3, 3:])[..., 0]  # camera centres
        facing = ((c2w_t[:, None] - means) * normals).sum(-1) > 0  # [C, N]
        cam = means @ w2c[:, :3, :3].transpose(1, 2) + w2c[:, None, :3, 3]
        uv = cam[..., :2] / cam[..., 2:].clamp(min=1e-4) @ K[:, :2, :2].transpose(1, 2)
        uv = uv + K[:, None, :2, 2]
        h, w = images.shape[1:3]
        grid = torch.stack([uv[..., 0] / w * 2 - 1, uv[..., 1] / h * 2 - 1], -1)[:, :, None]
        col = F.grid_sample(images.permute(0, 3, 1, 2), grid, align_corners=False)[..., 0]
        col = col.permute(0, 2, 1)  # [C, N, 3]
        wgt = facing.float()[..., None]
        mean = (col * wgt).sum(0) / wgt.sum(0).clamp(min=1.0)
        fallback = (col.mean((0, 1)) if col.numel() else torch.full((3,), 0.5)).expand_as(mean)
        rgb = torch.where(wgt.sum(0) > 0, mean, fallback).clamp(0.02, 0.98)
        self.albedo_logit.copy_(torch.log(rgb) - torch.log1p(-rgb))


class DenseTerm:
    """The dense energy for :class:`headforge.track.problem.TrackProblem`."""

    def __init__(
        self,
        head: GaussianHead,
        images: Tensor,
        masks: Tensor | None,
        resolution: int,
        views_per_step: int = 4,
        seed: int = 0,
    ) -> None:
        """images [V, H, W, 3] in [0, 1] and masks [V, H, W, 1] in [0, 1] at full size."""
        self.head = head
        h, w = images.shape[1:3]
        self.scale = min(1.0, resolution / max(h, w))
        self.size = (max(8, round(w * self.scale)), max(8, round(h * self.scale)))
        self.images = _resize(images, self.size)
        self.masks = _resize(masks, self.size) if masks is not None else None
        self.views_per_step = views_per_step
        self.gen = torch.Generator().manual_seed(seed)
        self._initialised = False

    def parameters(self) -> list[Tensor]:
        return [self.head.albedo_logit]

    def _cams(self, problem: Any, views: Tensor) -> tuple[Tensor, Tensor]:
        K, w2c = problem.cameras(views)
        S = torch.diag(torch.tensor([self.scale, self.scale, 1.0]))
        return S @ K, w2c

    def __call__(self, problem: Any, frames: Tensor, stage: Phase) -> dict[str, Tensor]:
        pos = torch.full((len(problem.scene.frame_keys),), -1, dtype=torch.long)
        pos[frames] = torch.arange(len(frames))
        cand = torch.nonzero(pos[problem.view_frame] >= 0)[:, 0]
        if not self._initialised:
            with torch.no_grad():
                K, w2c = self._cams(problem, cand)
                verts = problem.run_model(problem.view_frame[cand]).vertices
                self.head.init_albedo(verts, self.images[cand], K, w2c)
            self._initialised = True
        k = min(self.views_per_step, len(cand))
        views = cand[torch.randperm(len(cand), generator=self.gen)[:k]]
        K, w2c = self._cams(problem, views)
        verts = problem.run_model(problem.view_frame[views]).vertices  # [k, V, 3]
        w, h = self.size
        photo, sil = [], []
        for i, v in enumerate(views.tolist()):
            rgb, alpha = self.head.render(verts[i], K[i : i + 1], w2c[i : i + 1], w, h)
            target = self.images[v : v + 1]
            mask = self.masks[v : v + 1] if self.masks is not None else torch.ones_like(alpha)
            comp = rgb + (1.0 - alpha) * target
            photo.append(E.photometric_l1(comp, target, mask))
            sil.append((alpha * (1.0 - mask)).flatten(1).mean(1))
        p, s = torch.cat(photo), torch.cat(sil)
        per_frame = torch.zeros(len(frames)).index_add(0, pos[problem.view_frame[views]], p + s)
        return {"photometric": p.mean(), "silhouette": s.mean(), "per_frame": per_frame}


def _resize(x: Tensor, size: tuple[int, int]) -> Tensor:
    """[V, H, W, C] -> [V, h, w, C] with area averaging (no-op at the same size)."""
    w, h = size
    if x.shape[1:3] == (h, w):
        return x
    y = F.interpolate(x.permute(0, 3, 1, 2), size=(h, w), mode="area")
    return y.permute(0, 2, 3, 1).contiguous()


def load_images(paths: Sequence[Any], masks: Sequence[Any | None]) -> tuple[Tensor, Tensor | None]:
    """Images [V, H, W, 3] and masks [V, H, W, 1] (None when no view has one) in [0, 1]."""
    from PIL import Image

    imgs = [np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255.0 for p in paths]
    sizes = {im.shape for im in imgs}
    if len(sizes) != 1:
        raise ValueError(f"dense term needs same-size images, got {sorted(sizes)}; re-run ingest")
    img = torch.from_numpy(np.stack(imgs))
    if all(m is None for m in masks):
        return img, None
    ms = []
    for m, im in zip(masks, imgs, strict=True):
        if m is None:
            ms.append(np.ones(im.shape[:2], np.float32))
        else:
            ms.append(np.asarray(Image.open(m).convert("L"), dtype=np.float32) / 255.0)
    return img, torch.from_numpy(np.stack(ms))[..., None]
