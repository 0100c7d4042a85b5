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


INPUT_RULES = ("calm_views", "expression_spread")
"""How the inputs of a real clip are chosen (``invert.input_rule``)."""


def pick_frames(expr: np.ndarray, shots: int, test_frames: int,
                rotations: np.ndarray | None = None, rule: str = "calm_views"
                ) -> tuple[list[int], list[int]]:
    """Inputs and test frames of a monocular clip with per-frame expression codes [T, E].

    The last ``test_frames`` frames are scored and never used as input; ``shots`` inputs are
    chosen among the rest by ``rule``:

    * ``calm_views``: the frame with the calmest face and the most frontal head first
      (:func:`calm_views`), then frames far apart in head pose among the calmer half of the
      clip, as a person would take a few photos of a face: the photos' colours are mapped
      onto the head in the pose and expression tracked in them, so a grimace, closed eyes or
      a hand over the mouth in an input shows on every frame the avatar renders;
    * ``expression_spread``: farthest-point sampling in expression space from frame 0 (the
      widest expression coverage for the tuning, and the worst appearance).

    ``rotations`` [T, 3] are the head's rotation vectors in each frame's camera (None: the
    pose term is left out). A single tracked frame (a one-photo capture) is the only input and
    leaves nothing to score.
    """
    t = len(expr)
    if t < 1:
        raise ValueError("a capture needs at least 1 tracked frame, got 0: run track first")
    if rule not in INPUT_RULES:
        raise ValueError(f"unknown input rule {rule!r}: use one of {list(INPUT_RULES)} "
                         "(invert.input_rule)")
    n_test = min(test_frames, t - 1)
    pool = np.arange(t - n_test)
    k = min(shots, len(pool))
    e = np.asarray(expr, np.float64)[pool]
    if rule == "expression_spread":
        sel = farthest_point_indices(e, k, 0)
    else:
        rot = None if rotations is None else np.asarray(rotations, np.float64)[pool]
        sel = calm_views(e, rot, k)
    return [int(pool[i]) for i in sel], list(range(t - n_test, t))


def calm_views(expr: np.ndarray, rotations: np.ndarray | None, k: int) -> list[int]:
    """k of M frames for their appearance: the first minimises (expression magnitude / its
    largest value) + (head rotation angle / its largest value); the others are farthest-point
    samples of the head rotation (of the expression without rotations) among the frames whose
    expression magnitude is at most the median. Sorted indices."""
    m = len(expr)
    if k >= m:
        return list(range(m))
    mag = np.linalg.norm(expr, axis=-1)
    ang = np.zeros(m) if rotations is None else np.linalg.norm(rotations, axis=-1)
    score = mag / (mag.max() + 1e-12) + ang / (ang.max() + 1e-12)
    first = int(np.argmin(score))
    calm = np.nonzero(mag <= np.median(mag) + 1e-12)[0]
    if len(calm) < k:
        calm = np.argsort(mag, kind="stable")[:k]
    if first not in calm:
        calm = np.append(calm, first)
    space = rotations if rotations is not None else expr
    sel = farthest_point_indices(space[calm], k, int(np.nonzero(calm == first)[0][0]))
    return sorted(int(calm[i]) for i in sel)


def head_rotvec(params_rotation: Tensor, w2c: Tensor) -> np.ndarray:
    """[F, 3] head rotation in each frame's camera (camera rotation x head rotation) from the
    tracked global rotations [F, 3] and world-to-camera matrices [F, 4, 4]."""
    from scipy.spatial.transform import Rotation

    r_head = Rotation.from_rotvec(params_rotation.double().numpy())
    r_cam = Rotation.from_matrix(w2c[:, :3, :3].double().numpy())
    return np.asarray((r_cam * r_head).as_rotvec())


def unique_rows(params: Sequence[np.ndarray] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Deduplicate parameter rows [S, D] -> (unique [U, D], index [S] into them)."""
    a = np.asarray(params)
    uniq, inv = np.unique(a.round(6), axis=0, return_inverse=True)
    return uniq, inv.reshape(-1)
