"""Raw Gaussian parameters, their activations, and binding Gaussians to mesh triangles.

``GaussianParams`` stores *raw* (pre-activation) values, as optimisers and the 3DGS PLY
format do: log-scales, logit opacities, unnormalised quaternions, SH coefficients (DC first).
Activation happens at the renderer call (:meth:`GaussianParams.activated`).

Triangle binding follows GaussianAvatars: each triangle of a posed mesh gets a local frame
(rotation from one edge and the normal, an isotropic scale from the triangle's size, and its
vertices); a Gaussian bound to it stores its offset, rotation and log-scale in that frame, so
it follows the mesh as it deforms. Everything is batched over meshes ``B`` and differentiable.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor

from headforge.splat.projection import (
    normalize_quats,
    quat_multiply,
    rotmat_to_quat,
    sh_degree_from_bases,
)

SH_C0 = 0.28209479177387814
"""Degree-0 SH basis value: colour = SH_C0 * dc + 0.5."""


def rgb_to_sh_dc(rgb: Tensor) -> Tensor:
    """DC coefficient reproducing colour ``rgb`` (before the +0.5 offset and clamp)."""
    return (rgb - 0.5) / SH_C0


def sh_dc_to_rgb(dc: Tensor) -> Tensor:
    """Colour of a DC-only Gaussian."""
    return dc * SH_C0 + 0.5


@dataclasses.dataclass
class Activated:
    """Renderer-ready Gaussian tensors (what :func:`rasterize` takes)."""

    means: Tensor  # [N, 3]
    quats: Tensor  # [N, 4] unit wxyz
    scales: Tensor  # [N, 3] positive
    opacities: Tensor  # [N] in (0, 1)
    sh: Tensor  # [N, K, 3]
    sh_degree: int


@dataclasses.dataclass
class GaussianParams:
    """Raw 3D Gaussian parameters (``N`` Gaussians, ``K`` SH coefficients per channel)."""

    means: Tensor  # [N, 3]
    quats: Tensor  # [N, 4] wxyz, any norm
    log_scales: Tensor  # [N, 3]
    logit_opacities: Tensor  # [N]
    sh: Tensor  # [N, K, 3], K = (degree + 1)^2, DC first

    def __post_init__(self) -> None:
        N = self.means.shape[0]
        expected = {
            "means": [N, 3],
            "quats": [N, 4],
            "log_scales": [N, 3],
            "logit_opacities": [N],
        }
        for name, shape in expected.items():
            if list(getattr(self, name).shape) != shape:
                raise ValueError(
                    f"GaussianParams.{name} must be {shape}, got {list(getattr(self, name).shape)}"
                )
        if self.sh.ndim != 3 or self.sh.shape[0] != N or self.sh.shape[2] != 3:
            raise ValueError(f"GaussianParams.sh must be [N, K, 3], got {list(self.sh.shape)}")
        sh_degree_from_bases(self.sh.shape[1])  # raises for a non-square K

    @property
    def n(self) -> int:
        """Number of Gaussians."""
        return int(self.means.shape[0])

    @property
    def sh_degree(self) -> int:
        """SH degree implied by the coefficient count."""
        return sh_degree_from_bases(self.sh.shape[1])

    @property
    def scales(self) -> Tensor:
        """[N, 3] ``exp(log_scales)``."""
        return self.log_scales.exp()

    @property
    def opacities(self) -> Tensor:
        """[N] ``sigmoid(logit_opacities)``."""
        return torch.sigmoid(self.logit_opacities)

    @property
    def rotations(self) -> Tensor:
        """[N, 4] unit quaternions."""
        return normalize_quats(self.quats)

    def activated(self) -> Activated:
        """Activated tensors for the renderer."""
        return Activated(self.means, self.rotations, self.scales, self.opacities, self.sh,
                         self.sh_degree)  # fmt: skip

    def tensors(self) -> list[Tensor]:
        """The five raw tensors (e.g. for an optimiser)."""
        return [self.means, self.quats, self.log_scales, self.logit_opacities, self.sh]

    def requires_grad_(self, flag: bool = True) -> GaussianParams:
        """Mark all raw tensors as trainable, in place; returns self."""
        for t in self.tensors():
            t.requires_grad_(flag)
        return self

    def detach(self) -> GaussianParams:
        """Copy without autograd history."""
        return GaussianParams(*(t.detach().clone() for t in self.tensors()))

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> (
        GaussianParams
    ):
        """Moved/cast copy."""
        return GaussianParams(*(t.to(device=device, dtype=dtype) for t in self.tensors()))

    @classmethod
    def from_activated(
        cls,
        means: Tensor,  # [N, 3]
        quats: Tensor,  # [N, 4]
        scales: Tensor,  # [N, 3]
        opacities: Tensor,  # [N]
        rgb: Tensor | None = None,  # [N, 3] DC colour
        sh: Tensor | None = None,  # [N, K, 3]
        sh_degree: int = 0,
    ) -> GaussianParams:
        """Raw parameters from activated values (inverse activations); colour from ``rgb``
        (DC, higher bands zero) or the coefficients ``sh``."""
        N = means.shape[0]
        if sh is None:
            sh = means.new_zeros(N, (sh_degree + 1) ** 2, 3)
            if rgb is not None:
                sh[:, 0] = rgb_to_sh_dc(rgb)
        o = opacities.clamp(1e-6, 1 - 1e-6)
        return cls(means, quats, scales.log(), torch.log(o) - torch.log1p(-o), sh)


@dataclasses.dataclass
class TriangleFrames:
    """Per-triangle local frames of a batch of posed meshes."""

    R: Tensor  # [B, F, 3, 3] columns: edge direction, in-plane perpendicular, normal
    centre: Tensor  # [B, F, 3] centroid
    scale: Tensor  # [B, F] mean of edge (v0 -> v1) length and the height over it
    corners: Tensor  # [B, F, 3, 3] the triangle's vertices (corner, xyz)


def _unit(v: Tensor, fallback: Tensor, eps: float) -> Tensor:
    """v / |v|, or ``fallback`` where |v| <= eps (differentiable where it matters)."""
    n = v.norm(dim=-1, keepdim=True)
    ok = n > eps
    return torch.where(ok, v / torch.where(ok, n, torch.ones_like(n)), fallback)


def triangle_frames(vertices: Tensor, faces: Tensor, eps: float = 1e-10) -> TriangleFrames:
    """Local frames of every triangle. vertices [B, V, 3] (or [V, 3]), faces [F, 3] int.

    R's columns are the direction of edge v0 -> v1, the in-plane perpendicular, and the unit
    normal (right-handed, so counter-clockwise faces have outward normals). The scale is the
    mean of that edge's length and the triangle's height over it (GaussianAvatars). Degenerate
    triangles (collapsed edges, e.g. a closed mouth) still get an orthonormal frame, and a
    scale no larger than their longest edge.
    """
    if vertices.ndim == 2:
        vertices = vertices[None]
    if vertices.ndim != 3 or vertices.shape[-1] != 3:
        raise ValueError(f"vertices must be [B, V, 3], got {list(vertices.shape)}")
    if faces.ndim != 2 or faces.shape[1] != 3 or faces.is_floating_point():
        raise ValueError(f"faces must be an integer [F, 3] tensor, got {faces.dtype} "
                         f"{list(faces.shape)}")  # fmt: skip
    corners = vertices[:, faces.long()]  # [B, F, 3, 3]
    v0, v1, v2 = corners.unbind(-2)
    e0, e1, e2 = v1 - v0, v2 - v0, v2 - v1
    ex = torch.zeros_like(e0)
    ex[..., 0] = 1.0
    x = _unit(e0, _unit(e1, ex, eps), eps)
    # a perpendicular to x for triangles without a normal: x crossed with its least-aligned axis
    axis = torch.eye(3, dtype=x.dtype, device=x.device)[x.detach().abs().argmin(dim=-1)]
    z = _unit(torch.linalg.cross(e0, e1), _unit(torch.linalg.cross(x, axis), ex, eps), eps)
    z = _unit(z - (z * x).sum(-1, keepdim=True) * x, z, eps)  # exact orthogonality
    y = torch.linalg.cross(z, x)
    R = torch.stack([x, y, z], dim=-1)
    len0 = e0.norm(dim=-1)
    area2 = torch.linalg.cross(e0, e1).norm(dim=-1)  # twice the area
    height = area2 / len0.clamp_min(eps)
    longest = torch.maximum(e1.norm(dim=-1), e2.norm(dim=-1))
    scale = 0.5 * (len0 + torch.minimum(height, longest))
    return TriangleFrames(R=R, centre=corners.mean(dim=-2), scale=scale, corners=corners)


@dataclasses.dataclass
class BoundGaussians:
    """World-space geometry of triangle-bound Gaussians (``B`` meshes)."""

    means: Tensor  # [B, N, 3]
    quats: Tensor  # [B, N, 4] unit wxyz
    scales: Tensor  # [B, N, 3]


def bind_to_triangles(
    face_ids: Tensor,  # [N] int
    bary: Tensor,  # [N, 3] barycentric anchor on the triangle (rows sum to 1)
    local_offset: Tensor,  # [N, 3] | [B, N, 3] in units of the triangle scale
    local_quats: Tensor,  # [N, 4] | [B, N, 4] wxyz rotation in the triangle frame
    local_log_scales: Tensor,  # [N, 3] | [B, N, 3] log of scale / triangle scale
    frames: TriangleFrames,
) -> BoundGaussians:
    """World means/rotations/scales of Gaussians attached to triangles.

    mean = anchor + s_f R_f offset; rotation = R_f * q_local; scale = s_f exp(log_scale).
    """
    if face_ids.ndim != 1 or bary.shape != (face_ids.shape[0], 3):
        raise ValueError(f"face_ids [N] and bary [N, 3] expected, got {list(face_ids.shape)} "
                         f"and {list(bary.shape)}")  # fmt: skip
    fid = face_ids.long()
    R = frames.R[:, fid]  # [B, N, 3, 3]
    s = frames.scale[:, fid, None]  # [B, N, 1]
    anchor = (bary[None, :, :, None] * frames.corners[:, fid]).sum(dim=-2)  # [B, N, 3]
    means = anchor + s * (R @ local_offset[..., None]).squeeze(-1)
    quats = quat_multiply(rotmat_to_quat(R), normalize_quats(local_quats))
    scales = s * local_log_scales.exp()
    B = frames.R.shape[0]
    return BoundGaussians(
        means=means.expand(B, *means.shape[-2:]),
        quats=quats.expand(B, *quats.shape[-2:]),
        scales=scales.expand(B, *scales.shape[-2:]),
    )
