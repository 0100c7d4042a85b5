"""The CPU z-buffer rasteriser against analytic expectations."""

from __future__ import annotations

import numpy as np

from headforge.cameras import intrinsics, look_at_w2c
from headforge.morphable.meshraster import overlay, rasterize, render_mesh, vertex_normals

K = intrinsics(100.0, 100.0, 31.5, 31.5)


def _square(z: float, half: float) -> tuple[np.ndarray, np.ndarray]:
    v = np.array([[-half, -half, z], [half, -half, z], [half, half, z], [-half, half, z]])
    return v, np.array([[0, 1, 2], [0, 2, 3]])


def test_square_covers_the_projected_pixels_with_its_depth() -> None:
    v, f = _square(2.0, 0.5)  # projects to +-25 px around the centre
    r = rasterize(v, f, K, 64, 64)
    xs = np.nonzero(r.mask[32])[0]
    assert xs.min() == 7 and xs.max() == 56  # 31.5 +- 25 -> pixel centres 7..56
    np.testing.assert_allclose(r.depth[r.mask], 2.0)
    assert np.isinf(r.depth[~r.mask]).all() and (r.face_id[~r.mask] == -1).all()
    np.testing.assert_allclose(r.bary[r.mask].sum(-1), 1.0)


def test_nearer_triangle_wins_and_barycentrics_are_perspective_correct() -> None:
    far, f = _square(3.0, 1.0)
    near, _ = _square(1.5, 0.2)
    v = np.concatenate([far, near])
    faces = np.concatenate([f, f + 4])
    r = rasterize(v, faces, K, 64, 64)
    assert r.face_id[32, 32] >= 2 and r.face_id[2, 2] in (0, 1)
    # A slanted triangle: the interpolated camera z must be that of the 3D point on the ray.
    tri = np.array([[-1.0, -1.0, 2.0], [1.0, -1.0, 2.0], [0.0, 1.0, 4.0]])
    r = rasterize(tri, np.array([[0, 1, 2]]), K, 64, 64)
    ys, xs = np.nonzero(r.mask)
    p = (tri[None] * r.bary[ys, xs][..., None]).sum(1)
    np.testing.assert_allclose(p[:, 2], r.depth[ys, xs], rtol=1e-9)
    np.testing.assert_allclose(p[:, 0] / p[:, 2] * 100 + 31.5, xs, atol=1e-9)
    np.testing.assert_allclose(p[:, 1] / p[:, 2] * 100 + 31.5, ys, atol=1e-9)


def test_lambert_shading_and_overlay() -> None:
    v, f = _square(0.0, 0.5)
    w2c = look_at_w2c(np.array([0.0, 0.0, 2.0]), np.zeros(3))
    lit = render_mesh(v, f, K, w2c, 64, 64, light_dir=(0.0, 0.0, -1.0), ambient=0.2).image
    grazing = render_mesh(v, f, K, w2c, 64, 64, light_dir=(1.0, 0.0, -0.2), ambient=0.2).image
    assert lit[32, 32, 0] > grazing[32, 32, 0] > 0.15
    np.testing.assert_allclose(lit[0, 0], 1.0)  # white background
    n = vertex_normals(v, f)
    np.testing.assert_allclose(np.abs(n[:, 2]), 1.0)
    r = render_mesh(v, f, K, w2c, 64, 64)
    photo = np.zeros((64, 64, 3), np.uint8)
    out = overlay(photo, r, alpha=0.5)
    assert out[0, 0].sum() == 0 and out[32, 32].sum() > 0
