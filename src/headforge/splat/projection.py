"""Pure functions: quaternions, 3D covariances, EWA projection to pixels, spherical harmonics.

Conventions follow gsplat (and the original 3DGS): OpenCV cameras, world-to-camera ``viewmats``,
pixel intrinsics ``Ks``, quaternions ``wxyz``, a pixel ``(u, v)`` sampled at its centre
``(u + 0.5, v + 0.5)``. Every function here is batched and differentiable with plain autograd;
they run on any device and dtype.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import torch
from torch import Tensor

ALPHA_THRESHOLD = 1.0 / 255.0
"""Splat contributions below this alpha are skipped (and bound the splat's footprint)."""
MAX_EXTEND = 3.33
"""Upper bound on the footprint half-size in standard deviations."""

RasterizeMode = Literal["classic", "antialiased"]


def normalize_quats(quats: Tensor) -> Tensor:
    """Unit quaternions; [..., 4] -> [..., 4]. Zero quaternions become NaN-free identity."""
    norm = quats.norm(dim=-1, keepdim=True)
    ident = torch.zeros_like(quats)
    ident[..., 0] = 1.0
    return torch.where(norm > 0, quats / norm.clamp_min(1e-30), ident)


def quat_to_rotmat(quats: Tensor) -> Tensor:
    """Rotation matrices from quaternions (wxyz, normalised inside); [..., 4] -> [..., 3, 3]."""
    w, x, y, z = normalize_quats(quats).unbind(-1)
    rows = [
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ]  # fmt: skip
    return torch.stack(rows, dim=-1).reshape(*quats.shape[:-1], 3, 3)


def rotmat_to_quat(R: Tensor) -> Tensor:
    """Unit quaternions (wxyz, w >= 0) from rotation matrices; [..., 3, 3] -> [..., 4].

    Branch-free: builds the four candidate quaternions (each well conditioned when its
    largest component dominates) and picks the best per matrix, so gradients stay finite.
    """
    m00, m01, m02 = R[..., 0, 0], R[..., 0, 1], R[..., 0, 2]
    m10, m11, m12 = R[..., 1, 0], R[..., 1, 1], R[..., 1, 2]
    m20, m21, m22 = R[..., 2, 0], R[..., 2, 1], R[..., 2, 2]
    # 4 * q_k^2 for each component k, from the trace identities.
    sq = torch.stack(
        [1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22],
        dim=-1,
    )
    best = sq.argmax(dim=-1, keepdim=True)  # [..., 1]
    r = sq.clamp_min(1e-12).sqrt()  # 2 |q_k|
    cands = torch.stack(
        [
            torch.stack([r[..., 0], (m21 - m12) / r[..., 0], (m02 - m20) / r[..., 0],
                         (m10 - m01) / r[..., 0]], dim=-1),
            torch.stack([(m21 - m12) / r[..., 1], r[..., 1], (m10 + m01) / r[..., 1],
                         (m02 + m20) / r[..., 1]], dim=-1),
            torch.stack([(m02 - m20) / r[..., 2], (m10 + m01) / r[..., 2], r[..., 2],
                         (m21 + m12) / r[..., 2]], dim=-1),
            torch.stack([(m10 - m01) / r[..., 3], (m02 + m20) / r[..., 3],
                         (m21 + m12) / r[..., 3], r[..., 3]], dim=-1),
        ],
        dim=-2,
    )  # [..., 4 candidates, 4] fmt: skip
    q = torch.gather(cands, -2, best[..., None].expand(*best.shape[:-1], 1, 4)).squeeze(-2)
    q = q * 0.5
    q = torch.where(q[..., :1] < 0, -q, q)
    return q / q.norm(dim=-1, keepdim=True)


def quat_multiply(a: Tensor, b: Tensor) -> Tensor:
    """Hamilton product ``a * b`` (wxyz), broadcasting; [..., 4] x [..., 4] -> [..., 4]."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        dim=-1,
    )


def covariance_3d(quats: Tensor, scales: Tensor) -> Tensor:
    """World covariances ``R diag(s^2) R^T``; quats [..., 4], scales [..., 3] -> [..., 3, 3]."""
    M = quat_to_rotmat(quats) * scales[..., None, :]
    return M @ M.transpose(-1, -2)


@dataclasses.dataclass
class Projected:
    """Per-camera screen-space Gaussians (``C`` cameras, ``N`` Gaussians)."""

    means2d: Tensor  # [C, N, 2] pixel coordinates of the centres
    conics: Tensor  # [C, N, 3] inverse 2D covariance (xx, xy, yy), with the low-pass term
    depths: Tensor  # [C, N] camera-space z
    opacities: Tensor  # [C, N] effective opacity (times the compensation when antialiased)
    radii: Tensor  # [C, N, 2] int32 footprint half-size in pixels; 0 where culled
    in_frustum: Tensor  # [C, N] bool: near <= z <= far, positive determinant, opacity >= 1/255
    compensations: Tensor  # [C, N] sqrt(det(cov2d) / det(cov2d + eps2d I)), 0 where culled

    @property
    def visible(self) -> Tensor:
        """[C, N] bool: not culled (in the frustum and overlapping the image)."""
        return (self.radii > 0).all(dim=-1)


def project_gaussians(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4]
    scales: Tensor,  # [N, 3]
    opacities: Tensor,  # [N]
    viewmats: Tensor,  # [C, 4, 4]
    Ks: Tensor,  # [C, 3, 3]
    width: int,
    height: int,
    near: float = 0.01,
    far: float = 1e10,
    eps2d: float = 0.3,
    mode: RasterizeMode = "classic",
) -> Projected:
    """EWA splatting of 3D Gaussians into each camera (gsplat's ``fully_fused_projection``).

    The projection Jacobian is taken at the centre with its ray clamped to 1.3x the field of
    view, ``eps2d`` pixels^2 of low-pass blur is added to the 2D covariance, and in
    ``antialiased`` mode the opacity is scaled by the resulting density compensation.
    Culled Gaussians (behind the near plane, beyond far, degenerate or off-screen) get zero
    radii and finite placeholder values whose gradient is zero.
    """
    R = viewmats[:, None, :3, :3]  # [C, 1, 3, 3]
    t = viewmats[:, None, :3, 3]  # [C, 1, 3]
    mean_c = (R @ means[None, :, :, None]).squeeze(-1) + t  # [C, N, 3]
    cov_c = R @ covariance_3d(quats, scales)[None] @ R.transpose(-1, -2)  # [C, N, 3, 3]

    fx, fy = Ks[:, 0, 0, None], Ks[:, 1, 1, None]  # [C, 1]
    cx, cy = Ks[:, 0, 2, None], Ks[:, 1, 2, None]
    x, y, z = mean_c.unbind(-1)  # [C, N]
    depth_ok = (z >= near) & (z <= far)
    zs = torch.where(depth_ok, z, torch.ones_like(z))
    rz = 1.0 / zs
    tan_x, tan_y = 0.5 * width / fx, 0.5 * height / fy
    # the ray through the centre, clamped to 1.3x the field of view (gsplat/3DGS)
    u = torch.minimum(torch.maximum(x * rz, -(cx / fx + 0.3 * tan_x)),
                      (width - cx) / fx + 0.3 * tan_x)  # fmt: skip
    v = torch.minimum(torch.maximum(y * rz, -(cy / fy + 0.3 * tan_y)),
                      (height - cy) / fy + 0.3 * tan_y)  # fmt: skip
    zero = torch.zeros_like(rz)
    J = torch.stack(
        [fx * rz, zero, -fx * u * rz, zero, fy * rz, -fy * v * rz], dim=-1
    ).reshape(*rz.shape, 2, 3)  # [C, N, 2, 3]
    cov2d = J @ cov_c @ J.transpose(-1, -2)  # [C, N, 2, 2]
    means2d = torch.stack([fx * x * rz + cx, fy * y * rz + cy], dim=-1)  # [C, N, 2]

    a, b, c = cov2d[..., 0, 0], cov2d[..., 0, 1], cov2d[..., 1, 1]
    det_orig = a * c - b * b
    a, c = a + eps2d, c + eps2d
    det = a * c - b * b
    ok = depth_ok & (det > 0) & torch.isfinite(det)
    det_s = torch.where(ok, det, torch.ones_like(det))
    ratio = torch.where(ok, det_orig / det_s, torch.zeros_like(det))
    pos = ratio > 0
    comp = torch.where(pos, torch.where(pos, ratio, torch.ones_like(ratio)).sqrt(), 0.0 * ratio)
    conics = torch.stack([c / det_s, -b / det_s, a / det_s], dim=-1)
    conics = torch.where(ok[..., None], conics, torch.zeros_like(conics))
    opac = opacities[None].expand_as(z)
    if mode == "antialiased":
        opac = opac * comp
    ok = ok & (opac >= ALPHA_THRESHOLD)

    with torch.no_grad():
        o = opac.detach().clamp_min(ALPHA_THRESHOLD)
        extend = torch.sqrt(2.0 * torch.log(o / ALPHA_THRESHOLD)).clamp_max(MAX_EXTEND)
        aa = torch.where(ok, a.detach(), torch.zeros_like(a)).clamp_min(0)
        cc = torch.where(ok, c.detach(), torch.zeros_like(c)).clamp_min(0)
        rx = torch.ceil(extend * aa.sqrt())
        ry = torch.ceil(extend * cc.sqrt())
        m = means2d.detach()
        on_screen = (
            (m[..., 0] + rx > 0) & (m[..., 0] - rx < width)
            & (m[..., 1] + ry > 0) & (m[..., 1] - ry < height)
            & ((rx > 0) | (ry > 0))
        )  # fmt: skip
        keep = ok & on_screen
        radii = torch.stack([rx, ry], dim=-1).clamp_max(float(2**30))
        radii = torch.where(keep[..., None], radii, torch.zeros_like(radii)).to(torch.int32)
    means2d = torch.where(ok[..., None], means2d, torch.zeros_like(means2d))
    return Projected(
        means2d=means2d,
        conics=conics,
        depths=torch.where(ok, z, torch.zeros_like(z)),
        opacities=torch.where(ok, opac, torch.zeros_like(opac)),
        radii=radii,
        in_frustum=ok,
        compensations=comp,
    )


# Real spherical-harmonics basis constants (the 3DGS / gsplat convention).
_C0 = 0.28209479177387814
_C1 = 0.4886025119029199
_C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792,
       0.5462742152960396)  # fmt: skip
_C3 = (-0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154,
       -0.4570457994644658, 1.445305721320277, -0.5900435899266435)  # fmt: skip


def sh_basis(degree: int, dirs: Tensor) -> Tensor:
    """SH basis values for unit ``dirs`` [..., 3] -> [..., (degree + 1)^2]."""
    if not 0 <= degree <= 3:
        raise ValueError(f"sh_degree must be 0..3, got {degree}")
    x, y, z = dirs.unbind(-1)
    out = [torch.full_like(x, _C0)]
    if degree >= 1:
        out += [-_C1 * y, _C1 * z, -_C1 * x]
    if degree >= 2:
        xx, yy, zz = x * x, y * y, z * z
        out += [
            _C2[0] * x * y,
            _C2[1] * y * z,
            _C2[2] * (2 * zz - xx - yy),
            _C2[3] * x * z,
            _C2[4] * (xx - yy),
        ]
    if degree >= 3:
        out += [
            _C3[0] * y * (3 * xx - yy),
            _C3[1] * x * y * z,
            _C3[2] * y * (4 * zz - xx - yy),
            _C3[3] * z * (2 * zz - 3 * xx - 3 * yy),
            _C3[4] * x * (4 * zz - xx - yy),
            _C3[5] * z * (xx - yy),
            _C3[6] * x * (xx - 3 * yy),
        ]
    return torch.stack(out, dim=-1)


def sh_to_color(degree: int, dirs: Tensor, coeffs: Tensor) -> Tensor:
    """View-dependent colour ``max(SH(dirs) . coeffs + 0.5, 0)``.

    dirs [..., 3] (any length; normalised here), coeffs [..., K, D] with K >= (degree+1)^2
    -> [..., D]. Only the first (degree+1)^2 coefficients are used.
    """
    n = (degree + 1) ** 2
    if coeffs.shape[-2] < n:
        raise ValueError(f"sh_degree {degree} needs {n} coefficients, got {coeffs.shape[-2]}")
    norm = dirs.norm(dim=-1, keepdim=True)
    unit = dirs / torch.where(norm > 0, norm, torch.ones_like(norm))
    basis = sh_basis(degree, unit)  # [..., n]
    color = (basis[..., None] * coeffs[..., :n, :]).sum(dim=-2)
    return (color + 0.5).clamp_min(0.0)


def camera_centers(viewmats: Tensor) -> Tensor:
    """World-space camera centres ``-R^T t``; [C, 4, 4] -> [C, 3]."""
    R = viewmats[:, :3, :3]
    t = viewmats[:, :3, 3]
    return -(R.transpose(-1, -2) @ t[..., None]).squeeze(-1)


def num_sh_bases(degree: int) -> int:
    """Number of SH coefficients per channel for ``degree``."""
    return (degree + 1) ** 2


def sh_degree_from_bases(k: int) -> int:
    """Inverse of :func:`num_sh_bases`; raises for a count that is not a square in 1..16."""
    d = int(math.isqrt(k)) - 1
    if (d + 1) ** 2 != k or not 0 <= d <= 3:
        raise ValueError(f"{k} SH coefficients per channel is not (degree+1)^2 for degree 0..3")
    return d
