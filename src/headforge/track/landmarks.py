"""Landmark detection front door: pick a detector from the config, detect through a cache.

>>> det = make_detector(Context.load(root).params.track)
>>> res = detect_landmarks(det, image, cache=LandmarkCache("results/track/.landmark_cache"))
>>> res68 = to_ibug68(res)   # MediaPipe's 478 points -> the 68-point layout

Licences: the dlib predictor (and face-alignment's 2DFAN4) were trained on iBUG 300-W, which
is for non-commercial research only; MediaPipe's models are Apache-2.0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from headforge.config import TrackConfig
from headforge.track.base import LandmarkDetector
from headforge.track.cache import LandmarkCache
from headforge.track.result import LandmarkError, LandmarkResult, as_rgb_uint8

DETECTORS = ("mediapipe", "dlib", "face_alignment")


def make_detector(config: TrackConfig) -> LandmarkDetector:
    """The detector named by ``config.detector``; :class:`LandmarkError` names what is missing."""
    name = config.detector
    if name == "mediapipe":
        from headforge.track.detect_mediapipe import MediaPipeDetector

        return MediaPipeDetector(min_detection_confidence=config.min_detection_confidence)
    if name == "dlib":
        from headforge.track.detect_dlib import DlibDetector

        return DlibDetector(upsample=config.dlib_upsample)
    if name == "face_alignment":
        from headforge.track.detect_face_alignment import FaceAlignmentDetector

        return FaceAlignmentDetector(config.face_alignment_weights)
    raise LandmarkError(f"track.detector: {name!r} is not one of {DETECTORS}")


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
