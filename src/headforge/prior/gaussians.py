"""From raw UV maps to world-space Gaussians on the posed mesh.

Each Gaussian is bound to one triangle at fixed barycentrics (its UV sample point). The maps
give, per Gaussian, an offset and a rotation in the triangle's local frame, a log scale
relative to the local sample spacing, an opacity logit and a colour. Activations happen here,
at the renderer call (STYLE.md section 6):

* position = surface point + R_tri @ (tanh(offset) * max_offset)
* rotation = q_tri * normalize(q_local)
* scale = exp(log_scale) * spacing_3d * scale_mult, where spacing_3d is the UV sample spacing
  mapped to 3D by the posed triangle's area ratio, so Gaussians stretch with the skin
* opacity = sigmoid(logit); colour = sigmoid(logit) for SH degree 0, SH coefficients otherwise
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from headforge.prior.network import GaussianMaps, sample_maps


@dataclass
class GaussianBatch:
    """Activated Gaussians for B heads, N each."""

    means: Tensor
    """[B, N, 3] world positions (metres)."""
    quats: Tensor
    """[B, N, 4] unit quaternions, wxyz."""
    scales: Tensor
    """[B, N, 3] standard deviations (metres)."""
    opacities: Tensor
    """[B, N] in (0, 1)."""
    colors: Tensor
    """[B, N, 3] RGB in (0, 1), or [B, N, K, 3] SH coefficients."""
    offsets: Tensor
    """[B, N, 3] local offsets in metres (for regularisers)."""
    log_scales: Tensor
    """[B, N, 3] raw log scales relative to the spacing (for regularisers)."""

    def item(self, i: int) -> GaussianBatch:
        """The i-th head as a batch of one."""
        s = slice(i, i + 1)
        return GaussianBatch(self.means[s], self.quats[s], self.scales[s], self.opacities[s],
                             self.colors[s], self.offsets[s], self.log_scales[s])


def triangle_frames(verts: Tensor, faces: Tensor) -> tuple[Tensor, Tensor]:
    """Orthonormal frame and area of each triangle.

    verts: [B, V, 3]; faces: [F, 3] -> (R [B, F, 3, 3] with columns (edge, normal x edge,
    normal), area [B, F]).
    """
    v = verts[:, faces]  # [B,F,3,3]
    e0 = v[:, :, 1] - v[:, :, 0]
    e1 = v[:, :, 2] - v[:, :, 0]
    n = torch.cross(e0, e1, dim=-1)
    area = 0.5 * n.norm(dim=-1)
    x = F.normalize(e0, dim=-1, eps=1e-12)
    z = F.normalize(n, dim=-1, eps=1e-12)
    y = torch.cross(z, x, dim=-1)
    return torch.stack([x, y, z], dim=-1), area


def quat_from_matrix(R: Tensor) -> Tensor:
    """Rotation matrices [..., 3, 3] -> unit quaternions [..., 4] (wxyz), sign w >= 0."""
    m = R
    t = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    cands = torch.stack([
        torch.stack([1 + t, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0],
                     m[..., 1, 0] - m[..., 0, 1]], -1),
        torch.stack([m[..., 2, 1] - m[..., 1, 2], 1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                     m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0]], -1),
        torch.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0],
                     1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2],
                     m[..., 1, 2] + m[..., 2, 1]], -1),
        torch.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0],
                     m[..., 1, 2] + m[..., 2, 1], 1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2]],
                    -1),
    ], dim=-2)  # [...,4,4]: each row proportional to q
    diag = torch.stack([t, m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]], -1)
    best = diag.argmax(-1, keepdim=True)
    q = torch.gather(cands, -2, best.unsqueeze(-1).expand(*best.shape[:-1], 1, 4)).squeeze(-2)
    q = F.normalize(q, dim=-1)
    return torch.where(q[..., :1] < 0, -q, q)


def quat_multiply(a: Tensor, b: Tensor) -> Tensor:
    """Hamilton product of quaternions [..., 4] (wxyz)."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ], -1)


@dataclass(frozen=True)
class Binding:
    """Where the N Gaussians sit, as tensors on the model's device."""

    face_index: Tensor
    """[N] int64 triangle ids."""
    bary: Tensor
    """[N, 3] barycentrics."""
    uv: Tensor
    """[N, 2] UV points where the maps are sampled."""
    spacing_uv: Tensor
    """[N] UV grid spacing of each sample."""
    uv_area: Tensor
    """[N] UV area of each sample's triangle."""


def place_gaussians(
    maps: GaussianMaps,
    verts: Tensor,
    faces: Tensor,
    binding: Binding,
    max_offset: float,
    scale_mult: float = 0.7,
) -> GaussianBatch:
    """Sample raw maps at the binding's UV points and put the Gaussians on the posed mesh.

    maps: raw maps [B, C, R, R]; verts: posed [B, V, 3]; faces: [F, 3].
    """
    raw = sample_maps(maps.stacked(), binding.uv)  # [B,N,C]
    off_raw, rot_raw, sc_raw, op_raw, col_raw = raw.split(
        [3, 4, 3, 1, raw.shape[-1] - 11], dim=-1)
    R_all, area_all = triangle_frames(verts, faces)  # [B,F,3,3], [B,F]
    R = R_all[:, binding.face_index]  # [B,N,3,3]
    tri = verts[:, faces[binding.face_index]]  # [B,N,3,3]
    surface = (binding.bary.unsqueeze(-1) * tri).sum(-2)  # [B,N,3]
    offsets = torch.tanh(off_raw) * max_offset
    means = surface + (R @ offsets.unsqueeze(-1)).squeeze(-1)
    q_tri = quat_from_matrix(R)
    quats = F.normalize(quat_multiply(q_tri, F.normalize(rot_raw, dim=-1, eps=1e-8)), dim=-1)
    area = area_all[:, binding.face_index]  # [B,N]
    spacing3d = binding.spacing_uv * torch.sqrt(area / binding.uv_area.clamp_min(1e-12))
    scales = torch.exp(sc_raw) * (spacing3d * scale_mult).unsqueeze(-1)
    opac = torch.sigmoid(op_raw.squeeze(-1))
    k = col_raw.shape[-1] // 3
    if k == 1:
        colors = torch.sigmoid(col_raw)
    else:
        colors = col_raw.view(*col_raw.shape[:-1], 3, k).transpose(-1, -2)  # [B,N,K,3]
    return GaussianBatch(means=means, quats=quats, scales=scales, opacities=opac,
                         colors=colors, offsets=offsets, log_scales=sc_raw)
