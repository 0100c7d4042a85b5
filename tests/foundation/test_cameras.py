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
