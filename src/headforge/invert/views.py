"""Camera helpers for inversion: small pose corrections, orbits, input selection."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from headforge.cameras import axis_angle_to_matrix, orbit_w2c


def corrected_w2c(w2c: Tensor, delta: Tensor) -> Tensor:
    """Apply camera-space corrections delta [S, 6] (axis-angle, translation in metres) to
    world-to-camera matrices w2c [S, 4, 4]: ``[R(d_r) | d_t] @ w2c``."""
    R = axis_angle_to_matrix(delta[:, :3])
    top = torch.cat([R, delta[:, 3:, None]], dim=-1)  # [S,3,4]
    bottom = torch.zeros_like(w2c[:, 3:, :])
    bottom[..., 3] = 1.0
    D = torch.cat([top, bottom], dim=1)
    return D @ w2c


def camera_centres(w2c: Tensor) -> Tensor:
    """World positions of cameras [S, 4, 4] -> [S, 3]."""
    R = w2c[:, :3, :3]
    return -(R.transpose(-1, -2) @ w2c[:, :3, 3:]).squeeze(-1)


def reference_w2c(centre: np.ndarray, radius: float, n: int) -> np.ndarray:
    """View-regularisation cameras: half on a level orbit, half 20 degrees above, offset."""
    lo = orbit_w2c(centre, radius, (n + 1) // 2, 0.0)
    hi = orbit_w2c(centre, radius, n // 2, 20.0, start_deg=180.0 / max(n // 2, 1))
    return np.concatenate([lo, hi])[:n]


def farthest_point_indices(x: np.ndarray, k: int, first: int = 0) -> list[int]:
    """Greedy farthest-point sampling of k rows of x [M, D], starting from row ``first``."""
    m = len(x)
    if k >= m:
        return list(range(m))
    chosen = [first]
    d = np.linalg.norm(x - x[first], axis=-1)
    while len(chosen) < k:
        i = int(np.argmax(d))
        chosen.append(i)
        d = np.minimum(d, np.linalg.norm(x - x[i], axis=-1))
    return sorted(chosen)


def frontal_views(w2c: np.ndarray, centre: np.ndarray, k: int, max_angle_deg: float = 90.0
                  ) -> list[int]:
    """Pick k cameras for few-shot input, as a person would take a few photos of a face: the
    most frontal camera, then farthest-point samples of viewing directions among cameras
    within ``max_angle_deg`` of the face's forward axis (+z). When fewer qualify, the k most
    frontal cameras are used."""
    c = np.stack([-(m[:3, :3].T @ m[:3, 3]) for m in np.asarray(w2c)]) - centre
    d = c / np.linalg.norm(c, axis=-1, keepdims=True)
    front = np.nonzero(d[:, 2] > np.cos(np.radians(max_angle_deg)) + 1e-9)[0]
    if len(front) < k:
        front = np.argsort(-d[:, 2])[:k]
    first = int(np.argmax(d[front, 2]))
    sel = farthest_point_indices(d[front], k, first)
    return sorted(int(front[i]) for i in sel)


def pick_frames(expr: np.ndarray, shots: int, test_frames: int) -> tuple[list[int], list[int]]:
    """Inputs and test frames of a monocular clip with per-frame expression codes [T, E].

    The last ``test_frames`` frames are scored and never used as input; ``shots`` inputs are
    chosen among the rest by farthest-point sampling in expression space (from frame 0). A
    single tracked frame (a one-photo capture) is the only input and leaves nothing to score.
    """
    t = len(expr)
    if t < 1:
        raise ValueError("a capture needs at least 1 tracked frame, got 0: run track first")
    n_test = min(test_frames, t - 1)
    pool = np.arange(t - n_test)
    sel = farthest_point_indices(np.asarray(expr)[pool], min(shots, len(pool)), 0)
    return [int(pool[i]) for i in sel], list(range(t - n_test, t))


def unique_rows(params: Sequence[np.ndarray] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Deduplicate parameter rows [S, D] -> (unique [U, D], index [S] into them)."""
    a = np.asarray(params)
    uniq, inv = np.unique(a.round(6), axis=0, return_inverse=True)
    return uniq, inv.reshape(-1)
