"""EWA projection and spherical harmonics against independent derivations."""

from __future__ import annotations

import math

import torch

from headforge.cameras import project
from headforge.splat.projection import (
    covariance_3d,
    project_gaussians,
    quat_to_rotmat,
    sh_basis,
    sh_to_color,
)
from headforge.splat.scenes import random_scene


def test_rotations_are_orthonormal_and_covariance_psd():
    q = torch.randn(100, 4, dtype=torch.float64)
    R = quat_to_rotmat(q)
    eye = torch.eye(3, dtype=torch.float64).expand(100, 3, 3)
    torch.testing.assert_close(R @ R.transpose(-1, -2), eye)
    s = torch.rand(100, 3, dtype=torch.float64)
    cov = covariance_3d(q, s)
    assert (torch.linalg.eigvalsh(cov) > -1e-12).all()
    torch.testing.assert_close(torch.linalg.det(cov), s.prod(-1) ** 2)


def test_2d_covariance_is_the_projection_jacobian_sandwich():
    s = random_scene(30, 64, 48, n_cameras=2, seed=0, extent=0.3, dtype=torch.float64)
    p = project_gaussians(s.means, s.quats, s.scales, s.opacities, s.viewmats, s.Ks, 64, 48,
                          eps2d=0.0)  # fmt: skip
    for c in range(2):
        for i in range(30):
            J = torch.autograd.functional.jacobian(
                lambda x, c=c: project(x[None], s.Ks[c], s.viewmats[c])[0][0], s.means[i])
            cov = J @ covariance_3d(s.quats[i], s.scales[i]) @ J.T
            conic = torch.linalg.inv(cov)
            torch.testing.assert_close(p.conics[c, i], conic[[0, 0, 1], [0, 1, 1]],
                                       rtol=1e-9, atol=1e-9)  # fmt: skip
            uv, z = project(s.means[i][None], s.Ks[c], s.viewmats[c])
            torch.testing.assert_close(p.means2d[c, i], uv[0])
            torch.testing.assert_close(p.depths[c, i], z[0])


def test_lowpass_and_compensation():
    s = random_scene(20, 32, 32, seed=1, scale_range=(1e-4, 1e-3), dtype=torch.float64)
    a = project_gaussians(s.means, s.quats, s.scales, s.opacities, s.viewmats, s.Ks, 32, 32,
                          mode="antialiased")  # fmt: skip
    b = project_gaussians(s.means, s.quats, s.scales, s.opacities, s.viewmats, s.Ks, 32, 32)
    # tiny Gaussians: the conic is dominated by the 0.3 px^2 blur
    assert (b.conics[..., 0] < 1 / 0.3 + 1e-9).all() and (b.conics[..., 0] > 2.0).all()
    assert (a.compensations < 0.5).all() and (a.compensations >= 0).all()
    expected = torch.where(a.in_frustum, s.opacities * a.compensations, 0.0)
    torch.testing.assert_close(a.opacities, expected)


def test_radius_covers_every_pixel_above_threshold():
    s = random_scene(50, 40, 40, seed=2, scale_range=(0.01, 0.2), dtype=torch.float64)
    p = project_gaussians(s.means, s.quats, s.scales, s.opacities, s.viewmats, s.Ks, 40, 40)
    ys, xs = torch.meshgrid(torch.arange(40.0), torch.arange(40.0), indexing="ij")
    px = torch.stack([xs, ys], -1).reshape(-1, 2).double() + 0.5
    for i in range(50):
        d = p.means2d[0, i] - px
        a, b, c = p.conics[0, i]
        sigma = 0.5 * (a * d[:, 0] ** 2 + c * d[:, 1] ** 2) + b * d[:, 0] * d[:, 1]
        hit = p.opacities[0, i] * torch.exp(-sigma) >= 1 / 255
        r = p.radii[0, i].double()
        if hit.any():  # visible somewhere: not culled, and the box holds every such pixel
            assert (r > 0).all() and (d[hit].abs() <= r).all()


def test_sh_degree0_and_basis_orthonormality():
    dc = torch.randn(10, 1, 3, dtype=torch.float64)
    col = sh_to_color(0, torch.randn(10, 3, dtype=torch.float64), dc)
    torch.testing.assert_close(col, (dc[:, 0] * 0.28209479177387814 + 0.5).clamp_min(0))
    # Monte Carlo: the real SH basis is orthonormal over the sphere
    g = torch.Generator().manual_seed(0)
    d = torch.randn(400_000, 3, generator=g, dtype=torch.float64)
    d = d / d.norm(dim=-1, keepdim=True)
    B = sh_basis(3, d)
    gram = (B.T @ B) * (4 * math.pi / d.shape[0])
    torch.testing.assert_close(gram, torch.eye(16, dtype=torch.float64), atol=0.02, rtol=0)
    # gsplat/3DGS sign convention of the degree-1 band: -C1 y, C1 z, -C1 x
    e = torch.eye(3, dtype=torch.float64)
    torch.testing.assert_close(sh_basis(1, e)[:, 1:], 0.4886025119029199 * torch.tensor(
        [[0, 0, -1.0], [-1.0, 0, 0], [0, 1.0, 0]], dtype=torch.float64))
