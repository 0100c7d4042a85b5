"""The ``track`` stage: facial landmarks and FLAME-format fitting."""

from headforge.track.base import LandmarkDetector
from headforge.track.cache import LandmarkCache, cache_key
from headforge.track.detectors import (
    DETECTORS,
    DetectorEntry,
    DetectorStatus,
    detectors_available,
    make_detector,
)
from headforge.track.landmarks import detect_landmarks, load_rgb
from headforge.track.mapping import MP478_TO_IBUG68, to_ibug68
from headforge.track.result import LandmarkError, LandmarkResult, as_rgb_uint8

__all__ = [
    "DETECTORS",
    "MP478_TO_IBUG68",
    "DetectorEntry",
    "DetectorStatus",
    "LandmarkCache",
    "LandmarkDetector",
    "LandmarkError",
    "LandmarkResult",
    "as_rgb_uint8",
    "cache_key",
    "detect_landmarks",
    "detectors_available",
    "load_rgb",
    "make_detector",
    "to_ibug68",
]
