"""Camera model and conventions, rotations and orbit cameras: the one module for each.

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


def orbit_w2c(target: np.ndarray, radius: float, n: int, elevation_deg: float = 0.0,
              start_deg: float = 0.0, span_deg: float = 360.0) -> np.ndarray:
    """``n`` cameras on a circle around ``target`` looking at it: world-to-camera [n, 4, 4].

    Azimuth 0 is in front of a FLAME-style face (+z); camera ``i`` sits at azimuth
    ``start_deg + span_deg * i / n`` (growing toward +x) and ``elevation_deg`` above the
    horizontal plane through ``target`` (+y up).
    """
    target = np.asarray(target, dtype=np.float64)
    out = []
    el = math.radians(elevation_deg)
    for i in range(n):
        az = math.radians(start_deg) + math.radians(span_deg) * i / n
        eye = target + radius * np.array(
            [math.sin(az) * math.cos(el), math.sin(el), math.cos(az) * math.cos(el)])
        out.append(look_at_w2c(eye, target))
    return np.stack(out) if out else np.zeros((0, 4, 4))


# Below this squared angle the Rodrigues coefficients use their Taylor series (exact value and
# gradient through the zero rotation, no division by a vanishing angle).
_SMALL_ANGLE_SQ = 1e-6


def skew(v: Tensor) -> Tensor:
    """Cross-product matrices: [..., 3] -> [..., 3, 3] with ``skew(a) @ b == a x b``."""
    x, y, z = v.unbind(-1)
    o = torch.zeros_like(x)
    return torch.stack([o, -z, y, z, o, -x, -y, x, o], dim=-1).reshape(*v.shape[:-1], 3, 3)


def axis_angle_to_matrix(rot_vecs: Tensor) -> Tensor:
    """Axis-angle vectors to rotation matrices (Rodrigues): [..., 3] -> [..., 3, 3].

    ``R = I + a K + b K^2`` with ``K = skew(r)``, ``a = sin t / t``, ``b = (1 - cos t) / t^2``,
    ``t = |r|``; a and b switch to their Taylor series near zero so that the value and the
    gradient are exact at the identity.
    """
    theta_sq = (rot_vecs * rot_vecs).sum(-1)
    small = theta_sq < _SMALL_ANGLE_SQ
    safe_sq = torch.where(small, torch.ones_like(theta_sq), theta_sq)
    theta = safe_sq.sqrt()
    a = torch.where(small, 1.0 - theta_sq / 6.0 + theta_sq**2 / 120.0, torch.sin(theta) / theta)
    b = torch.where(
        small, 0.5 - theta_sq / 24.0 + theta_sq**2 / 720.0, (1.0 - torch.cos(theta)) / safe_sq
    )
    k = skew(rot_vecs)
    eye = torch.eye(3, dtype=rot_vecs.dtype, device=rot_vecs.device).expand_as(k)
    return eye + a[..., None, None] * k + b[..., None, None] * (k @ k)


def matrix_to_axis_angle(R: np.ndarray) -> np.ndarray:
    """Rotation [3, 3] -> axis-angle [3] (numpy; for initialisation, not differentiable)."""
    import cv2

    vec, _ = cv2.Rodrigues(np.asarray(R, dtype=np.float64))
    return vec.reshape(3)


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
