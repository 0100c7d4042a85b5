"""The one result type every landmark detector returns, and its small on-disk form."""

from __future__ import annotations

import dataclasses
import io
from typing import Literal

import numpy as np

Convention = Literal["mediapipe478", "ibug68"]

N_POINTS: dict[str, int] = {"mediapipe478": 478, "ibug68": 68}


class LandmarkError(RuntimeError):
    """A detector cannot run (missing package or model file); the message names the fix."""


@dataclasses.dataclass(frozen=True)
class LandmarkResult:
    """2D facial landmarks of the most prominent face in one image, or why there is none.

    Pixel coordinates are continuous: pixel column ``i`` covers ``[i, i + 1)``, so its centre is
    ``i + 0.5`` (the convention of :mod:`headforge.cameras`). When no face was found,
    ``points``/``confidence``/``box`` are ``None`` and ``reason`` says why: a missing face is
    never encoded as zeros.
    """

    detector: str
    """Name of the detector that produced the result (``mediapipe``, ``dlib``, ...)."""
    image_size: tuple[int, int]
    """(height, width) of the image the points refer to."""
    convention: Convention | None = None
    """Point layout: ``mediapipe478`` (face mesh with irises) or ``ibug68`` (300-W)."""
    points: np.ndarray | None = None
    """[P, 2] float32 pixel coordinates (x right, y down)."""
    confidence: np.ndarray | None = None
    """[P] float32 in [0, 1]; see each detector for what it means."""
    box: tuple[float, float, float, float] | None = None
    """Face box (x0, y0, x1, y1) in pixels."""
    score: float = float("nan")
    """The detector's own face score (e.g. dlib's HOG SVM margin, MediaPipe's detection score)."""
    reason: str = ""
    """Why no face was returned (empty when ``found``)."""

    def __post_init__(self) -> None:
        if self.points is None:
            if not self.reason:
                raise ValueError("LandmarkResult without points needs a reason")
            if self.confidence is not None or self.box is not None:
                raise ValueError("a no-face LandmarkResult carries no confidence or box")
            return
        if self.convention is None:
            raise ValueError("LandmarkResult with points needs a convention")
        n = N_POINTS[self.convention]
        if self.points.shape != (n, 2):
            raise ValueError(f"{self.convention} points must be [{n}, 2], got {self.points.shape}")
        if self.confidence is None or self.confidence.shape != (n,):
            raise ValueError(f"{self.convention} confidence must be [{n}]")
        if not np.all(np.isfinite(self.points)):
            raise ValueError("landmark points contain NaN/inf")
        if self.box is None:
            raise ValueError("LandmarkResult with points needs a box")

    @property
    def found(self) -> bool:
        """True when a face (and its points) was found."""
        return self.points is not None

    @property
    def face_size(self) -> float:
        """Geometric mean of the box width and height in pixels (NaN without a face)."""
        if self.box is None:
            return float("nan")
        x0, y0, x1, y1 = self.box
        return float(np.sqrt(max(x1 - x0, 0.0) * max(y1 - y0, 0.0)))

    @classmethod
    def no_face(cls, detector: str, image_size: tuple[int, int], reason: str) -> LandmarkResult:
        """An explicit 'no face' result."""
        return cls(detector=detector, image_size=image_size, reason=reason)

    # ---- serialisation: a tiny .npz ---------------------------------------------------------

    def to_npz_bytes(self) -> bytes:
        """The result as the bytes of an ``.npz`` (no pickles)."""
        arrays: dict[str, np.ndarray] = {
            "detector": np.array(self.detector),
            "image_size": np.array(self.image_size, dtype=np.int64),
            "score": np.array(self.score, dtype=np.float64),
            "reason": np.array(self.reason),
        }
        if self.found:
            assert self.points is not None and self.confidence is not None
            arrays["convention"] = np.array(self.convention)
            arrays["points"] = self.points.astype(np.float32)
            arrays["confidence"] = self.confidence.astype(np.float32)
            arrays["box"] = np.array(self.box, dtype=np.float64)
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    @classmethod
    def from_npz_bytes(cls, data: bytes) -> LandmarkResult:
        """Inverse of :meth:`to_npz_bytes`."""
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            common = {
                "detector": str(z["detector"]),
                "image_size": (int(z["image_size"][0]), int(z["image_size"][1])),
                "score": float(z["score"]),
                "reason": str(z["reason"]),
            }
            if "points" not in z:
                return cls(**common)  # type: ignore[arg-type]
            box = tuple(float(v) for v in z["box"])
            return cls(
                convention=str(z["convention"]),  # type: ignore[arg-type]
                points=np.array(z["points"], dtype=np.float32),
                confidence=np.array(z["confidence"], dtype=np.float32),
                box=box,  # type: ignore[arg-type]
                **common,  # type: ignore[arg-type]
            )


def as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Validate an image and return it as contiguous [H, W, 3] uint8 RGB.

    Accepts [H, W] grey, [H, W, 3] RGB and [H, W, 4] RGBA (alpha dropped), uint8 or float in
    [0, 1]. Anything else raises ``ValueError`` naming the expected layout.
    """
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] not in (3, 4) or a.shape[0] < 8 or a.shape[1] < 8:
        raise ValueError(
            f"expected an RGB image [H, W, 3] (H, W >= 8), got shape {a.shape}: "
            "load it with headforge.track.load_rgb"
        )
    a = a[..., :3]
    if a.dtype != np.uint8:
        if np.issubdtype(a.dtype, np.floating):
            if not np.all(np.isfinite(a)):
                raise ValueError("image contains NaN/inf")
            a = np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
        else:
            raise ValueError(f"image dtype {a.dtype} unsupported: pass uint8 or float in [0, 1]")
    return np.ascontiguousarray(a)


def box_from_points(points: np.ndarray) -> tuple[float, float, float, float]:
    """Tight (x0, y0, x1, y1) box of [P, 2] points."""
    lo = points.min(axis=0)
    hi = points.max(axis=0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
