"""Camera model and conventions.

OpenCV convention everywhere: x right, y down, z forward (the camera looks along +z).
Extrinsics are world-to-camera 4x4 matrices ``w2c`` so that ``x_cam = R @ x_world + t``;
intrinsics ``K`` are 3x3 in pixels, with pixel centres at integer coordinates + 0.5 offset
handled by the renderer (pixel (u, v) covers [u, u+1) x [v, v+1)).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor


def intrinsics(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    """3x3 pinhole intrinsics."""
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=np.float64)


def focal_from_fov(fov_deg: float, size: int) -> float:
    """Focal length in pixels for a field of view (degrees) across ``size`` pixels."""
    return 0.5 * size / math.tan(math.radians(fov_deg) / 2.0)


def look_at_w2c(
    eye: np.ndarray, target: np.ndarray, up: np.ndarray | None = None
) -> np.ndarray:
    """World-to-camera 4x4 (OpenCV) for a camera at ``eye`` looking at ``target``.

    ``up`` is the world's up direction (default +y); the image's y axis points opposite to it.
    """
    eye = np.asarray(eye, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    up = np.array([0.0, 1.0, 0.0]) if up is None else np.asarray(up, dtype=np.float64)
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-8:  # looking straight along up: pick any perpendicular
        x = np.cross(z, np.array([0.0, 0.0, 1.0]))
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z], axis=0)
    w2c = np.eye(4)
    w2c[:3, :3] = R
    w2c[:3, 3] = -R @ eye
    return w2c


def is_rotation(R: np.ndarray, atol: float = 1e-5) -> bool:
    """True when ``R`` is orthonormal with determinant +1."""
    R = np.asarray(R, dtype=np.float64)
    return bool(
        R.shape == (3, 3)
        and np.all(np.isfinite(R))
        and np.allclose(R @ R.T, np.eye(3), atol=atol)
        and abs(np.linalg.det(R) - 1.0) < atol
    )


def opengl_c2w_to_opencv_w2c(c2w: np.ndarray) -> np.ndarray:
    """Convert an OpenGL/nerfstudio camera-to-world 4x4 (x right, y up, z back) to OpenCV w2c."""
    c2w = np.asarray(c2w, dtype=np.float64).copy()
    c2w[:3, 1:3] *= -1.0
    return np.linalg.inv(c2w)


def opencv_w2c_to_opengl_c2w(w2c: np.ndarray) -> np.ndarray:
    """Inverse of :func:`opengl_c2w_to_opencv_w2c`."""
    c2w = np.linalg.inv(np.asarray(w2c, dtype=np.float64))
    c2w[:3, 1:3] *= -1.0
    return c2w


def project(points: Tensor, K: Tensor, w2c: Tensor) -> tuple[Tensor, Tensor]:
    """Project world points to pixels.

    points: [..., N, 3]; K: [..., 3, 3]; w2c: [..., 4, 4] -> (uv [..., N, 2], depth [..., N]).
    """
    R = w2c[..., :3, :3]
    t = w2c[..., :3, 3]
    cam = points @ R.transpose(-1, -2) + t.unsqueeze(-2)
    z = cam[..., 2]
    zs = torch.where(z.abs() < 1e-8, torch.full_like(z, 1e-8), z)
    uv = (cam[..., :2] / zs.unsqueeze(-1)) @ K[..., :2, :2].transpose(-1, -2) + K[
        ..., :2, 2
    ].unsqueeze(-2)
    return uv, z
