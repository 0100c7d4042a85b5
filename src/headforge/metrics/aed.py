"""AED / APD: expression and head-pose distances between two trackings of the same frames.

The project's tracker is run on the render and on the ground truth (same cameras); AED is the
mean absolute difference of the tracked expression coefficients (FLAME ``expr`` plus the
jaw's axis-angle, per frame), APD the geodesic angle in degrees between the tracked head
rotations in the camera frame.
"""

from __future__ import annotations

import numpy as np


def aed(expr_pred: np.ndarray, expr_gt: np.ndarray) -> float:
    """Mean |difference| of ``[F, E]`` expression codes (mean over frames and coefficients)."""
    a, b = np.asarray(expr_pred, np.float64), np.asarray(expr_gt, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"aed: expression codes differ in shape: {a.shape} vs {b.shape}")
    return float(np.abs(a - b).mean())


def rotation_angle_deg(r_pred: np.ndarray, r_gt: np.ndarray) -> np.ndarray:
    """Geodesic angle (degrees) between ``[F, 3, 3]`` rotation matrices, per frame."""
    a, b = np.asarray(r_pred, np.float64), np.asarray(r_gt, np.float64)
    rel = np.einsum("fij,fkj->fik", a, b)  # a @ b^T
    cos = (np.trace(rel, axis1=1, axis2=2) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def apd(r_pred: np.ndarray, r_gt: np.ndarray) -> float:
    """Mean geodesic angle (degrees) between ``[F, 3, 3]`` head rotations."""
    return float(rotation_angle_deg(r_pred, r_gt).mean())
