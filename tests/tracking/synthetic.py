"""Synthetic tracking inputs with known parameters: cameras, sampled FLAME parameters and the
landmarks they project to."""

from __future__ import annotations

import numpy as np
import torch

from headforge.cameras import focal_from_fov, intrinsics, look_at_w2c
from headforge.tracking.problem import PARAM_KEYS
from headforge.tracking.result import LandmarkResult, box_from_points
from headforge.tracking.scene import View


def rig(
    n_cams: int, size: int = 256, distance: float = 0.6, fov: float = 30.0, spread_deg: float = 35.0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(K, w2c) of ``n_cams`` cameras on an arc in front of the head (1 camera: frontal)."""
    f = focal_from_fov(fov, size)
    K = intrinsics(f, f, size / 2, size / 2)
    yaws = [0.0] if n_cams == 1 else np.linspace(-spread_deg, spread_deg, n_cams)
    out = []
    for i, yaw in enumerate(yaws):
        a = np.radians(yaw)
        pitch = 0.1 * (i % 2) - 0.05
        eye = distance * np.array([np.sin(a), pitch, np.cos(a)])
        out.append((K.copy(), look_at_w2c(eye, np.zeros(3))))
    return out


def sample_params(
    model, n_frames: int, seed: int, n_shape: int, n_expr: int, scale: float = 0.8
) -> dict[str, torch.Tensor]:
    """Prior-like parameters: shape/expr ~ N(0, scale^2), modest head and jaw rotations."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    p = {
        "shape": (r(n_shape) * scale)[None].expand(n_frames, -1).clone(),
        "expr": r(n_frames, n_expr) * scale,
        "rotation": r(n_frames, 3) * torch.tensor([0.12, 0.25, 0.05]),
        "neck_pose": torch.zeros(n_frames, 3),
        "jaw_pose": torch.cat([r(n_frames, 1).abs() * 0.12, torch.zeros(n_frames, 2)], 1),
        "eyes_pose": torch.zeros(n_frames, 6),
        "translation": r(n_frames, 3) * 0.01,
    }
    assert set(p) == set(PARAM_KEYS)
    return p


def project_np(points: np.ndarray, K: np.ndarray, w2c: np.ndarray) -> np.ndarray:
    cam = points @ w2c[:3, :3].T + w2c[:3, 3]
    uv = cam[:, :2] / cam[:, 2:3]
    return uv @ K[:2, :2].T + K[:2, 2]


def synthetic_views(
    model,
    params: dict[str, torch.Tensor],
    cams: list[tuple[np.ndarray, np.ndarray]],
    size: int = 256,
    noise_px: float = 0.3,
    seed: int = 0,
    estimated: bool = False,
) -> tuple[list[View], list[LandmarkResult]]:
    """One view per (frame, camera) and its noisy 68 projected landmarks."""
    g = np.random.default_rng(seed)
    with torch.no_grad():
        lms = model(**params).landmarks68.numpy()
    views, results = [], []
    for f in range(lms.shape[0]):
        for c, (K, w2c) in enumerate(cams):
            uv = project_np(lms[f].astype(np.float64), K, w2c)
            uv = (uv + g.normal(0, noise_px, uv.shape)).astype(np.float32)
            views.append(View("seq", f"cam{c}", f"{f:04d}", K, w2c, size, size, estimated))
            results.append(
                LandmarkResult(
                    detector="synthetic",
                    image_size=(size, size),
                    convention="ibug68",
                    points=uv,
                    confidence=np.ones(68, np.float32),
                    box=box_from_points(uv),
                    score=1.0,
                )
            )
    return views, results
