"""Synthetic tracking cases with known answers: sampled FLAME parameters, a camera rig, the
projected landmarks and (optionally) Gaussian renders and masks through our own renderer.

Used by the tests and ``benchmarks/track.py`` to measure how well tracking recovers the truth.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from torch import Tensor

from headforge.cameras import focal_from_fov, intrinsics, look_at_w2c
from headforge.track.problem import PARAM_KEYS
from headforge.track.result import LandmarkResult, box_from_points
from headforge.track.scene import View


def rig(
    n_cams: int, size: int = 256, distance: float = 0.9, fov: float = 22.0, spread_deg: float = 35.0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(K, w2c) of ``n_cams`` cameras on an arc in front of the head (1 camera: frontal)."""
    f = focal_from_fov(fov, size)
    K = intrinsics(f, f, size / 2, size / 2)
    yaws = [0.0] if n_cams == 1 else np.linspace(-spread_deg, spread_deg, n_cams)
    out = []
    for i, yaw in enumerate(yaws):
        a = np.radians(yaw)
        pitch = 0.12 * (i % 2) - 0.06
        eye = distance * np.array([np.sin(a), pitch, np.cos(a)]) + np.array([0.0, 0.0, 0.0])
        out.append((K.copy(), look_at_w2c(eye, np.array([0.0, -0.02, 0.0]))))
    return out


def sample_params(
    n_frames: int, seed: int, n_shape: int, n_expr: int, scale: float = 0.8
) -> dict[str, Tensor]:
    """Prior-like parameters: shape/expr ~ N(0, scale^2), modest head and jaw rotations,
    neutral neck and eyes (they are not observable from 68 landmarks)."""
    g = torch.Generator().manual_seed(seed)

    def r(*s: int) -> Tensor:
        return torch.randn(*s, generator=g)

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
    """World points [N, 3] -> pixels [N, 2]."""
    cam = points @ w2c[:3, :3].T + w2c[:3, 3]
    uv = cam[:, :2] / cam[:, 2:3]
    return uv @ K[:2, :2].T + K[:2, 2]


@dataclasses.dataclass
class SyntheticCase:
    """Views with known parameters."""

    views: list[View]
    landmarks: list[LandmarkResult]
    truth: dict[str, Tensor]
    images: Tensor | None = None  # [V, H, W, 3]
    masks: Tensor | None = None  # [V, H, W, 1]


def synthetic_case(
    model: Any,
    params: dict[str, Tensor],
    cams: list[tuple[np.ndarray, np.ndarray]],
    size: int = 256,
    noise_px: float = 0.3,
    seed: int = 0,
    estimated: bool = False,
    head: Any | None = None,
    video: bool = False,
) -> SyntheticCase:
    """One view per (frame, camera): noisy projected landmarks, and when ``head`` (a
    :class:`headforge.track.dense.GaussianHead` with its albedo set) is given, renders on a
    grey background and their alpha masks. Frames are independent samples, so each is its own
    sequence unless ``video`` (then consecutive frames are smoothed toward each other)."""
    g = np.random.default_rng(seed)
    with torch.no_grad():
        out = model(**params)
    lms = out.landmarks68.numpy()
    views, results, images, masks = [], [], [], []
    for f in range(lms.shape[0]):
        for c, (K, w2c) in enumerate(cams):
            uv = project_np(lms[f].astype(np.float64), K, w2c)
            uv = (uv + g.normal(0, noise_px, uv.shape)).astype(np.float32)
            seq = "seq" if video else f"seq{f:04d}"
            views.append(View(seq, f"cam{c}", f"{f:04d}", K, w2c, size, size, estimated))
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
            if head is not None:
                with torch.no_grad():
                    rgb, alpha = head.render(
                        out.vertices[f],
                        torch.tensor(K, dtype=torch.float32)[None],
                        torch.tensor(w2c, dtype=torch.float32)[None],
                        size,
                        size,
                    )
                images.append(rgb[0] + (1 - alpha[0]) * 0.5)
                masks.append(alpha[0])
    if head is None:
        return SyntheticCase(views, results, params)
    return SyntheticCase(views, results, params, torch.stack(images), torch.stack(masks))


def smooth_albedo(head: Any, model: Any, seed: int = 0) -> Tensor:
    """A skin-like albedo with smooth variation over the template (for synthetic renders)."""
    g = torch.Generator().manual_seed(seed)
    centres = model.v_template[head.faces[head.face_ids]].mean(1)  # [N, 3]
    freqs = torch.randn(3, 3, generator=g) * 40.0
    base = torch.tensor([0.75, 0.55, 0.45])
    return (base + 0.2 * torch.sin(centres @ freqs)).clamp(0.05, 0.95)


def rigid_align(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """X [N, 3] moved by the rotation + translation that best fits it to Y (Kabsch)."""
    mx, my = X.mean(0), Y.mean(0)
    U, _, Vt = np.linalg.svd((X - mx).T @ (Y - my))
    d = np.sign(np.linalg.det(U @ Vt))
    R = (U @ np.diag([1.0, 1.0, d]) @ Vt).T
    return (X - mx) @ R.T + my


@dataclasses.dataclass
class VertexErrors:
    """Mean vertex distances on a region, relative to the true head's width, per frame."""

    world: np.ndarray
    """[F] as fitted (pose, depth and shape errors together)."""
    gauge: np.ndarray
    """[F] after the one scale about the camera centre, shared by all frames, that best maps
    the fit onto the truth (NaN without ``camera_centre``). From one camera this scale is
    unobservable: it changes no pixel of any view, only the head's size and distance."""
    aligned: np.ndarray
    """[F] after the best rigid alignment (shape + expression error only)."""
    head_width: float
    """Width (x extent) of the true head in metres."""


def camera_scale(a: np.ndarray, b: np.ndarray, centre: np.ndarray) -> float:
    """The scale s about ``centre`` [3] minimising ||centre + s (a - centre) - b||^2 over all
    points a, b [..., 3] (closed form)."""
    da, db = a - centre, b - centre
    return float((da * db).sum() / max(float((da * da).sum()), 1e-30))


def vertex_errors(
    model: Any,
    fitted: dict[str, Tensor],
    truth: dict[str, Tensor],
    region: Tensor,
    camera_centre: np.ndarray | None = None,
) -> VertexErrors:
    """Compare fitted and true parameters (each [F, D]) on the vertices where ``region``;
    ``camera_centre`` [3] (world) of a single camera adds the scale-gauge-fixed error."""
    with torch.no_grad():
        a = model(**fitted).vertices.double().numpy()
        b = model(**truth).vertices.double().numpy()
    width = float(b[0, :, 0].max() - b[0, :, 0].min())
    m = region.numpy()
    world = np.linalg.norm(a[:, m] - b[:, m], axis=-1).mean(1) / width
    gauge = np.full_like(world, np.nan)
    if camera_centre is not None:
        c = np.asarray(camera_centre, dtype=np.float64).reshape(3)
        s = camera_scale(a[:, m], b[:, m], c)
        gauge = np.linalg.norm(c + s * (a[:, m] - c) - b[:, m], axis=-1).mean(1) / width
    aligned = np.array(
        [
            np.linalg.norm(rigid_align(a[f, m], b[f, m]) - b[f, m], axis=-1).mean() / width
            for f in range(a.shape[0])
        ]
    )
    return VertexErrors(world, gauge, aligned, width)
