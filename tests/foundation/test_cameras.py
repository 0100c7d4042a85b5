from __future__ import annotations

import numpy as np
import torch

from headforge.cameras import (
    focal_from_fov,
    intrinsics,
    is_rotation,
    look_at_w2c,
    opencv_w2c_to_opengl_c2w,
    opengl_c2w_to_opencv_w2c,
    project,
)


def test_look_at_puts_target_on_the_optical_axis_in_front() -> None:
    eye = np.array([0.3, 0.2, 1.0])
    w2c = look_at_w2c(eye, np.zeros(3))
    assert is_rotation(w2c[:3, :3])
    cam = w2c[:3, :3] @ np.zeros(3) + w2c[:3, 3]
    assert np.allclose(cam[:2], 0, atol=1e-12) and cam[2] > 0
    # world up (+y) maps to image up (-y in OpenCV)
    up_cam = w2c[:3, :3] @ np.array([0.0, 1.0, 0.0])
    assert up_cam[1] < 0


def test_projection_of_principal_point_and_a_known_offset() -> None:
    K = intrinsics(100.0, 100.0, 32.0, 32.0)
    w2c = look_at_w2c(np.array([0.0, 0.0, 2.0]), np.zeros(3))
    pts = torch.tensor([[0.0, 0.0, 0.0], [0.2, 0.0, 0.0]], dtype=torch.float64)
    uv, z = project(pts, torch.from_numpy(K), torch.from_numpy(w2c))
    assert torch.allclose(uv[0], torch.tensor([32.0, 32.0], dtype=torch.float64))
    # camera at +z looking at -z with +y up: world +x appears on the image's right
    assert torch.allclose(uv[1], torch.tensor([32.0 + 10.0, 32.0], dtype=torch.float64))
    assert torch.allclose(z, torch.tensor([2.0, 2.0], dtype=torch.float64))


def test_opengl_opencv_round_trip() -> None:
    rng = np.random.default_rng(0)
    for _ in range(10):
        w2c = look_at_w2c(rng.normal(size=3) * 2 + np.array([0, 0, 3.0]), rng.normal(size=3) * 0.1)
        back = opengl_c2w_to_opencv_w2c(opencv_w2c_to_opengl_c2w(w2c))
        assert np.allclose(back, w2c, atol=1e-12)


def test_is_rotation_rejects_reflections_and_nan() -> None:
    assert not is_rotation(np.diag([1.0, 1.0, -1.0]))
    assert not is_rotation(np.full((3, 3), np.nan))
    assert focal_from_fov(90.0, 64) == 32.0 or abs(focal_from_fov(90.0, 64) - 32.0) < 1e-9


def test_axis_angle_matches_scipy_at_every_scale() -> None:
    from scipy.spatial.transform import Rotation

    from headforge.cameras import axis_angle_to_matrix, matrix_to_axis_angle

    rng = np.random.default_rng(0)
    axes = rng.normal(size=(64, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    # zero, the Taylor branch, its threshold, ordinary angles and angles near pi
    angles = np.concatenate([[0.0, 1e-7, 1e-4, 9.9e-4, 1e-3, 1.1e-3],
                             rng.uniform(0, np.pi, 52), np.pi - np.logspace(-6, -2, 6)])
    vecs = axes * angles[:, None]
    got = axis_angle_to_matrix(torch.from_numpy(vecs)).numpy()
    want = Rotation.from_rotvec(vecs).as_matrix()
    np.testing.assert_allclose(got, want, atol=1e-12)
    # batch shapes are kept: [2, 32, 3] -> [2, 32, 3, 3]
    batched = axis_angle_to_matrix(torch.from_numpy(vecs.reshape(2, 32, 3)))
    np.testing.assert_array_equal(batched.numpy().reshape(64, 3, 3), got)
    for v in vecs[6:58]:  # away from pi, where the axis sign is ambiguous
        R = Rotation.from_rotvec(v).as_matrix()
        np.testing.assert_allclose(matrix_to_axis_angle(R), Rotation.from_matrix(R).as_rotvec(),
                                   atol=1e-9)


def test_axis_angle_gradient_at_identity_is_the_cross_product() -> None:
    from headforge.cameras import axis_angle_to_matrix

    r = torch.zeros(1, 3, dtype=torch.float64, requires_grad=True)
    p = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64)
    (axis_angle_to_matrix(r)[0] @ p).sum().backward()
    # d/dr sum(R p) at r=0 is sum over rows of -skew(p) = p x (1,1,1)
    np.testing.assert_allclose(r.grad[0].numpy(), np.cross(p.numpy(), np.ones(3)), atol=1e-12)


def test_orbit_cameras_circle_the_target_and_look_at_it() -> None:
    from headforge.cameras import orbit_w2c

    target = np.array([0.1, -0.05, 0.2])
    w2c = orbit_w2c(target, 1.5, 8, elevation_deg=20.0, start_deg=10.0, span_deg=180.0)
    assert w2c.shape == (8, 4, 4)
    centres = np.stack([-m[:3, :3].T @ m[:3, 3] for m in w2c])
    np.testing.assert_allclose(np.linalg.norm(centres - target, axis=1), 1.5, atol=1e-12)
    np.testing.assert_allclose((centres - target)[:, 1], 1.5 * np.sin(np.radians(20)), atol=1e-12)
    az = np.degrees(np.arctan2((centres - target)[:, 0], (centres - target)[:, 2]))
    np.testing.assert_allclose(az, 10.0 + 180.0 * np.arange(8) / 8, atol=1e-9)
    for m in w2c:
        cam = m[:3, :3] @ target + m[:3, 3]
        assert is_rotation(m[:3, :3]) and np.allclose(cam[:2], 0, atol=1e-12) and cam[2] > 0
