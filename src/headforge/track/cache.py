"""Per-frame landmark cache keyed by image content and detector version.

Key = sha256(detector.version, image shape, dtype, image bytes). Each entry is one small
``.npz`` under ``<root>/<key[:2]>/<key>.npz``, written atomically; no-face results are cached
too (with their reason), so a re-run gives the identical answer without re-detecting.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from headforge.io_utils import write_bytes_atomic
from headforge.track.base import LandmarkDetector
from headforge.track.result import LandmarkResult, as_rgb_uint8


def cache_key(image: np.ndarray, detector_version: str) -> str:
    """Hex sha256 of the detector version and the image's shape, dtype and bytes."""
    a = np.ascontiguousarray(image)
    h = hashlib.sha256()
    h.update(detector_version.encode())
    h.update(repr((a.shape, str(a.dtype))).encode())
    h.update(a.tobytes())
    return h.hexdigest()


class LandmarkCache:
    """A folder of cached :class:`LandmarkResult` s; counts hits and misses."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    def path(self, key: str) -> Path:
        """Where the entry for ``key`` lives."""
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> LandmarkResult | None:
        """The cached result, or None (a corrupt entry counts as a miss and is ignored)."""
        p = self.path(key)
        if not p.is_file():
            return None
        try:
            return LandmarkResult.from_npz_bytes(p.read_bytes())
        except (OSError, ValueError, KeyError):
            return None

    def put(self, key: str, result: LandmarkResult) -> None:
        """Store ``result`` under ``key`` atomically."""
        write_bytes_atomic(self.path(key), result.to_npz_bytes())

    def detect(self, detector: LandmarkDetector, image: np.ndarray) -> LandmarkResult:
        """``detector.detect(image)`` through the cache."""
        return self.detect_entry(detector, image)[0]

    def detect_entry(
        self, detector: LandmarkDetector, image: np.ndarray
    ) -> tuple[LandmarkResult, Path]:
        """Like :meth:`detect`, also returning the cache entry's path (for lineage records)."""
        image = as_rgb_uint8(image)
        key = cache_key(image, detector.version)
        hit = self.get(key)
        if hit is not None:
            self.hits += 1
            return hit, self.path(key)
        self.misses += 1
        result = detector.detect(image)
        self.put(key, result)
        return result, self.path(key)
