"""Landmark detection front door: detect through a cache (detectors: ``track.detectors``).

>>> det = make_detector(Context.load(root).params.track)   # headforge.track.detectors
>>> res = detect_landmarks(det, image, cache=LandmarkCache("results/track/.landmark_cache"))
>>> res68 = to_ibug68(res)   # MediaPipe's 478 points -> the 68-point layout

Licences: the dlib predictor (and face-alignment's 2DFAN4) were trained on iBUG 300-W, which
is for non-commercial research only; MediaPipe's models are Apache-2.0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from headforge.track.base import LandmarkDetector
from headforge.track.cache import LandmarkCache
from headforge.track.result import LandmarkResult, as_rgb_uint8


def detect_landmarks(
    detector: LandmarkDetector, image: np.ndarray, cache: LandmarkCache | None = None
) -> LandmarkResult:
    """Landmarks of one RGB image, through ``cache`` when given."""
    image = as_rgb_uint8(image)
    return cache.detect(detector, image) if cache is not None else detector.detect(image)


def load_rgb(path: str | Path) -> np.ndarray:
    """An image file as [H, W, 3] uint8 RGB; a clear error when it cannot be read."""
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read image {path}: {e}; pass a PNG or JPEG file") from e
