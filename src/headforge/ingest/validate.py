"""Checks on capture inputs: calibration sanity, image sizes, duplicate frames.

Each check raises one :class:`CaptureError` naming the file and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from headforge.cameras import is_rotation
from headforge.ingest.errors import CaptureError


def as_matrix(value: Any, shape: tuple[int, int], source: Path, what: str) -> np.ndarray:
    """``value`` as a finite float64 array of ``shape``; NaN/inf or a wrong shape raise."""
    try:
        m = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise CaptureError(f"{source}: {what} is not a numeric matrix ({e}); fix its values") from e
    if m.shape != shape:
        raise CaptureError(
            f"{source}: {what} has shape {list(m.shape)}, expected {list(shape)}; fix it"
        )
    if not np.all(np.isfinite(m)):
        raise CaptureError(
            f"{source}: {what} contains NaN or infinite values; re-export the calibration"
        )
    return m


def check_intrinsics(K: np.ndarray, source: Path, what: str) -> np.ndarray:
    """A pinhole K [3, 3]: positive focal lengths, last row (0, 0, 1)."""
    K = as_matrix(K, (3, 3), source, what)
    if K[0, 0] <= 0 or K[1, 1] <= 0 or not np.allclose(K[2], [0.0, 0.0, 1.0]):
        raise CaptureError(
            f"{source}: {what} is not a pinhole intrinsics matrix (need fx, fy > 0 and last "
            "row [0, 0, 1]); fix the calibration"
        )
    if K[1, 0] != 0 or K[0, 1] != 0:
        raise CaptureError(f"{source}: {what} has skew/shear terms; give K with K[0,1] = 0")
    return K


def check_rigid(T: np.ndarray, source: Path, what: str) -> np.ndarray:
    """A rigid 4x4 transform: orthonormal rotation with det +1, last row (0, 0, 0, 1)."""
    T = as_matrix(T, (4, 4), source, what)
    if not np.allclose(T[3], [0.0, 0.0, 0.0, 1.0]):
        raise CaptureError(f"{source}: {what} last row must be [0, 0, 0, 1]; fix the calibration")
    if not is_rotation(T[:3, :3], atol=1e-4):
        raise CaptureError(
            f"{source}: {what} rotation is not orthonormal with det +1 (scaled, sheared or "
            "mirrored); re-export the calibration with pure rotations"
        )
    return T


def check_sizes(sizes: Iterable[tuple[str, Path, tuple[int, int]]]) -> None:
    """All images of one camera have one size. Items: (camera key, file, (width, height))."""
    first: dict[str, tuple[Path, tuple[int, int]]] = {}
    for cam, path, size in sizes:
        if cam not in first:
            first[cam] = (path, size)
        elif first[cam][1] != size:
            p0, s0 = first[cam]
            raise CaptureError(
                f"{path}: frame is {size[0]}x{size[1]} but {p0.name} of the same camera "
                f"({cam}) is {s0[0]}x{s0[1]}; resize or remove frames so one camera has "
                "one size"
            )


def check_duplicates(hashes: Iterable[tuple[str, str]]) -> None:
    """No two frames with identical content. Items: (source description, content sha256)."""
    seen: dict[str, str] = {}
    for source, digest in hashes:
        if digest in seen:
            raise CaptureError(
                f"{source}: identical content to {seen[digest]} (duplicate frame); remove one "
                "of them"
            )
        seen[digest] = source
