"""AKD: average keypoint distance between the landmarks of a render and its ground truth.

Both point sets come from the same landmark detector (the track stage's, any convention); the
distance is the mean Euclidean distance in pixels over corresponding points, reported at a
reference image size so that scores at different resolutions compare.
"""

from __future__ import annotations

import numpy as np


def akd(pred: np.ndarray, gt: np.ndarray, image_size: int, reference_size: int = 256) -> float:
    """Mean distance (pixels at ``reference_size``) between ``[P, 2]`` point sets detected in
    ``image_size``-pixel images."""
    a, b = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"akd expects two [P, 2] point sets of one shape, got {a.shape} and "
                         f"{b.shape} (same detector on both images?)")
    return float(np.linalg.norm(a - b, axis=1).mean() * reference_size / image_size)
