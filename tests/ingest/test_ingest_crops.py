"""Crop geometry: K follows the crop exactly, pixels land where K says, triangulation."""

from __future__ import annotations

import numpy as np
import pytest

from headforge.cameras import focal_from_fov, intrinsics, look_at_w2c
from headforge.ingest.crops import (
    CropBox,
    crop_image,
    crop_intrinsics,
    crop_matrix,
    estimated_camera,
    project_point,
    square_box,
    triangulate,
)
from headforge.ingest.readers import evenly


def test_crop_intrinsics_move_projections_like_the_crop() -> None:
    K = intrinsics(800.0, 790.0, 640.0, 360.0)
    w2c = look_at_w2c(np.array([0.3, 0.1, 1.0]), np.zeros(3))
    box = CropBox(x0=410, y0=-35, side=517)
    K2 = crop_intrinsics(K, box, 256)
    rng = np.random.default_rng(0)
    for X in rng.normal(scale=0.1, size=(10, 3)):
        uv, _ = project_point(X, K, w2c)
        uv2, _ = project_point(X, K2, w2c)
        expected = (uv - [box.x0, box.y0]) * 256 / box.side
        np.testing.assert_allclose(uv2, expected, atol=1e-9)
    np.testing.assert_allclose(crop_matrix(box, 256) @ K, K2)


@pytest.mark.parametrize("box", [CropBox(25, 15, 40), CropBox(-8, 20, 64), CropBox(30, 30, 160)])
def test_crop_image_puts_a_source_pixel_where_the_matrix_says(box: CropBox) -> None:
    img = np.zeros((100, 120), dtype=np.uint8)
    img[40:44, 50:54] = 255  # a 4x4 blob whose centre is (52, 42) in corner convention
    out = crop_image(img, box, 80).astype(np.float64)
    ys, xs = np.mgrid[0:80, 0:80]
    w = out / out.sum()
    centroid = np.array([(w * (xs + 0.5)).sum(), (w * (ys + 0.5)).sum()])
    expected = (crop_matrix(box, 80) @ [52.0, 42.0, 1.0])[:2]
    np.testing.assert_allclose(centroid, expected, atol=0.05 * 80 / box.side + 1e-6)


def test_crop_image_pads_outside_with_zeros() -> None:
    img = np.full((10, 10, 3), 200, dtype=np.uint8)
    out = crop_image(img, CropBox(-10, 0, 20), 20)
    assert out.shape == (20, 20, 3)
    assert out[:10, 10:].min() == 200  # the image
    assert out[:, :10].max() == 0 and out[10:].max() == 0  # left of it and below it


def test_square_box_scale_and_lift() -> None:
    b = square_box(np.array([100.0, 100.0]), 50.0, 2.0, 0.1)
    assert b.side == 100
    assert (b.x0, b.y0) == (50, 45)


def test_triangulate_recovers_a_point_seen_by_several_cameras() -> None:
    X = np.array([0.02, 0.05, -0.01])
    Ks, Ts, uvs = [], [], []
    for yaw in (-30, 0, 25):
        a = np.radians(yaw)
        T = look_at_w2c(np.array([np.sin(a), 0.1, np.cos(a)]), np.zeros(3))
        K = intrinsics(700, 700, 320, 240)
        Ks.append(K)
        Ts.append(T)
        uvs.append(project_point(X, K, T)[0])
    np.testing.assert_allclose(triangulate(np.stack(uvs), np.stack(Ks), np.stack(Ts)), X,
                               atol=1e-9)


def test_estimated_camera_makes_a_face_span_the_crop_as_cut() -> None:
    res, scale, width = 256, 1.8, 0.15
    K, w2c = estimated_camera(res, 30.0, scale, width)
    assert K[0, 0] == pytest.approx(focal_from_fov(30.0, res))
    left, _ = project_point(np.array([-width / 2, 0, 0]), K, w2c)
    right, _ = project_point(np.array([width / 2, 0, 0]), K, w2c)
    top, _ = project_point(np.array([0, 0.05, 0]), K, w2c)
    assert abs(right[0] - left[0]) == pytest.approx(res / scale)
    assert right[0] > left[0]  # the subject's +x is image right: camera faces the face (+z)
    assert top[1] < res / 2  # world up is image up


def test_evenly_keeps_ends_and_count() -> None:
    assert evenly(list(range(10)), 4) == [0, 3, 6, 9]
    assert evenly([1, 2], 5) == [1, 2]
