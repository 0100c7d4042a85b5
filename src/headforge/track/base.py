"""The detector interface: a name, a version (part of the cache key) and ``detect``."""

from __future__ import annotations

import abc

import numpy as np

from headforge.track.result import Convention, LandmarkResult


class LandmarkDetector(abc.ABC):
    """Finds the landmarks of the most prominent face in an RGB image.

    Detectors hold native resources (graphs, models); use them as context managers or call
    :meth:`close`. They are not thread-safe: make one per worker.
    """

    name: str = ""
    """Short name used in configs and results."""
    convention: Convention = "ibug68"
    """Layout of the points returned."""

    @property
    @abc.abstractmethod
    def version(self) -> str:
        """Identifies the code and model weights: a change invalidates cached results."""

    @abc.abstractmethod
    def detect(self, image: np.ndarray) -> LandmarkResult:
        """Landmarks of ``image`` ([H, W, 3] uint8 RGB) or an explicit no-face result."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release native resources."""

    def __enter__(self) -> LandmarkDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
