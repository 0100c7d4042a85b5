"""Appearance from the photos: unproject each input photo into the head model's UV space.

Every sample point on the mesh (each Gaussian's UV sample and each texel centre of the
decoder's UV grid) is placed on the tracked, posed mesh of each photo, projected into it, and
kept where the mesh rasteriser (:mod:`headforge.morphable.meshraster`) says it is the nearest
surface. A view's weight is ``visible x facing(cos(view angle)) x mask``; across views the
colour is the weight-squared mean (the most frontal view dominates) and the confidence the
largest weight. The result feeds two things:

* the decoder's colour output, through the skip path of
  :func:`headforge.prior.gaussians.blend_photo_colour` (per Gaussian, at full density), so
  the person's own skin, hair and eye colours reach the Gaussians and the prior fills only
  what the photos did not see;
* the identity encoder (:mod:`headforge.prior.encoder`), as UV maps with the neutral head's
  vertex positions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from headforge.morphable.meshraster import rasterize, to_camera, vertex_normals
from headforge.prior.encoder import encoder_input

if TYPE_CHECKING:
    from headforge.prior.model import HeadPrior

FACING_LO, FACING_HI = 0.15, 0.6
"""cos(view angle) below LO counts nothing, above HI fully (smoothstep between)."""
DEPTH_TOLERANCE = 0.01
"""A sample is visible when it lies within this fraction of its depth of the z-buffer."""


@dataclass
class PhotoAppearance:
    """What the photos say about one subject's appearance, in UV space."""

    color: Tensor
    """[1, N, 3] colour per Gaussian sample, in [0, 1]."""
    conf: Tensor
    """[1, N, 1] confidence per Gaussian sample, in [0, 1]."""
    color_map: Tensor
    """[1, 3, R, R] colour per texel of the decoder's UV grid."""
    conf_map: Tensor
    """[1, 1, R, R] confidence per texel."""
    position_map: Tensor
    """[1, 3, R, R] neutral head (tracked shape, no expression or pose) per texel, metres."""

    def encoder_input(self) -> Tensor:
        """[1, 7, R, R] input of the identity encoder."""
        return encoder_input(self.color_map, self.conf_map, self.position_map)

    def photo(self) -> tuple[Tensor, Tensor]:
        """(colour, confidence) per Gaussian for the skip path."""
        return self.color, self.conf

    def to(self, device: torch.device | str) -> PhotoAppearance:
        return PhotoAppearance(*(t.to(device) for t in self.tensors()))

    def tensors(self) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        return self.color, self.conf, self.color_map, self.conf_map, self.position_map

    def unseen(self) -> PhotoAppearance:
        """The same head with nothing seen (confidence 0): the prior alone."""
        return PhotoAppearance(torch.zeros_like(self.color), torch.zeros_like(self.conf),
                               torch.zeros_like(self.color_map), torch.zeros_like(self.conf_map),
                               self.position_map)

    def state(self) -> dict[str, Tensor]:
        names = ("color", "conf", "color_map", "conf_map", "position_map")
        return {n: t.detach().cpu() for n, t in zip(names, self.tensors(), strict=True)}

    @staticmethod
    def from_state(d: Mapping[str, Tensor]) -> PhotoAppearance:
        return PhotoAppearance(d["color"], d["conf"], d["color_map"], d["conf_map"],
                               d["position_map"])


def _smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _sample_image(img: Tensor, pix: np.ndarray) -> Tensor:
    """Bilinear samples of img [H, W, C] at pixel coordinates pix [M, 2] (centres at
    integers, OpenCV) -> [M, C]."""
    h, w = img.shape[:2]
    g = torch.from_numpy(pix).to(img.dtype)
    g = torch.stack([g[:, 0] / max(w - 1, 1), g[:, 1] / max(h - 1, 1)], -1) * 2.0 - 1.0
    s = F.grid_sample(img.permute(2, 0, 1)[None], g.view(1, 1, -1, 2), mode="bilinear",
                      padding_mode="border", align_corners=True)
    return s[0, :, 0].T


def view_weights(verts: np.ndarray, faces: np.ndarray, face_index: np.ndarray,
                 bary: np.ndarray, image: Tensor, mask: Tensor, K: np.ndarray,  # noqa: N803
                 w2c: np.ndarray) -> tuple[Tensor, np.ndarray]:
    """Colour [M, 3] seen by one photo at M mesh samples and the view's weight [M] (0 where
    the sample is hidden, outside the picture, off the mask or seen edge-on)."""
    h, w = int(image.shape[0]), int(image.shape[1])
    tri = verts[faces[face_index]]  # [M,3,3]
    pts = (bary[..., None] * tri).sum(1)
    nrm = (bary[..., None] * vertex_normals(verts, faces)[faces[face_index]]).sum(1)
    nrm /= np.maximum(np.linalg.norm(nrm, axis=-1, keepdims=True), 1e-12)
    cam = to_camera(pts, w2c)
    z = cam[:, 2]
    ok = z > 1e-4
    zs = np.where(ok, z, 1.0)
    pix = (cam @ K.T)[:, :2] / zs[:, None]
    inside = ok & (pix[:, 0] >= 0) & (pix[:, 0] <= w - 1) & (pix[:, 1] >= 0) & \
        (pix[:, 1] <= h - 1)
    raster = rasterize(to_camera(verts, w2c), faces, K, w, h)
    px = np.clip(np.round(pix).astype(np.int64), 0, [w - 1, h - 1])
    zbuf = raster.depth[px[:, 1], px[:, 0]]
    visible = inside & (z <= zbuf + DEPTH_TOLERANCE * zs)
    to_cam = -cam / np.maximum(np.linalg.norm(cam, axis=-1, keepdims=True), 1e-12)
    cos = np.abs((nrm @ np.asarray(w2c)[:3, :3].T * to_cam).sum(-1))
    pix = np.where(inside[:, None], pix, 0.0)
    colour = _sample_image(image, pix)
    m = _sample_image(mask, pix)[:, 0].numpy().astype(np.float64)
    weight = visible * _smoothstep(cos, FACING_LO, FACING_HI) * np.clip(2.0 * m - 1.0, 0, 1)
    return colour, weight


def unproject(prior: HeadPrior, images: Tensor, masks: Tensor, K: Tensor,  # noqa: N803
              w2c: Tensor, params: Mapping[str, Tensor]) -> PhotoAppearance:
    """Unproject S photos (images [S, H, W, 3], masks [S, H, W, 1], cameras K [S, 3, 3],
    w2c [S, 4, 4], tracked parameters [S, D] each) of one subject into UV space."""
    s = int(images.shape[0])
    dev = prior.device
    faces = prior.faces.cpu().numpy()
    fi = np.concatenate([prior.b_face.cpu().numpy(), prior.g_face.cpu().numpy()])
    bary = np.concatenate([prior.b_bary.cpu().numpy(), prior.g_bary.cpu().numpy()]).astype(
        np.float64)
    n = prior.n_gaussians
    shape = params["shape"].float().mean(0, keepdim=True).to(dev)
    with torch.no_grad():
        p = {k: v.float().to(dev) for k, v in params.items()}
        p["shape"] = shape.expand(s, -1)
        verts = prior.pose(p).cpu().numpy().astype(np.float64)
        neutral = {k: torch.zeros_like(v[:1]) for k, v in p.items()}
        neutral["shape"] = shape
        v0 = prior.pose(neutral)[0].cpu().numpy().astype(np.float64)
    num = torch.zeros(len(fi), 3, dtype=torch.float64)
    den = torch.zeros(len(fi), dtype=torch.float64)
    conf = torch.zeros(len(fi), dtype=torch.float64)
    for i in range(s):
        col, wgt = view_weights(verts[i], faces, fi, bary, images[i].float().cpu(),
                                masks[i].float().cpu(), K[i].cpu().double().numpy(),
                                w2c[i].cpu().double().numpy())
        wt = torch.from_numpy(wgt)
        num += (wt**2)[:, None] * col.double()
        den += wt**2
        conf = torch.maximum(conf, wt)
    colour = (num / den.clamp_min(1e-12)[:, None]).clamp(0, 1).float()
    conf_f = conf.float()
    g = torch.from_numpy((bary[n:, :, None] * v0[faces[fi[n:]]]).sum(1)).float()
    r = prior.spec.decoder.uv_res
    texel = prior.g_texel.cpu()

    def to_map(vals: Tensor) -> Tensor:
        out = torch.zeros(r * r, vals.shape[-1])
        out[texel] = vals
        return out.view(r, r, -1).permute(2, 0, 1)[None]

    return PhotoAppearance(
        color=colour[None, :n], conf=conf_f[None, :n, None],
        color_map=to_map(colour[n:]), conf_map=to_map(conf_f[n:, None]),
        position_map=to_map(g),
    ).to(dev)
