"""Face boxes from MediaPipe's face detector (the BlazeFace models shipped in its wheel)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from headforge.io_utils import Closeable
from headforge.quiet import import_mediapipe, native_quiet, warm_up


@dataclasses.dataclass(frozen=True)
class FaceBox:
    """An axis-aligned face box in pixels of the image it was detected in."""

    x0: float
    y0: float
    width: float
    height: float
    score: float

    @property
    def center(self) -> np.ndarray:  # [2]
        return np.array([self.x0 + 0.5 * self.width, self.y0 + 0.5 * self.height])

    @property
    def size(self) -> float:
        """Edge of the square that holds the box."""
        return max(self.width, self.height)


def overlap(a: FaceBox, b: FaceBox) -> float:
    """Intersection over the smaller box's area (1 when one box holds the other)."""
    ix = max(0.0, min(a.x0 + a.width, b.x0 + b.width) - max(a.x0, b.x0))
    iy = max(0.0, min(a.y0 + a.height, b.y0 + b.height) - max(a.y0, b.y0))
    small = min(a.width * a.height, b.width * b.height)
    return ix * iy / small if small > 0 else 0.0


class FaceDetector(Closeable):
    """MediaPipe face detection: the short-range model first, the full-range one as fallback.

    Of several faces the largest confident one is kept (the subject is the nearest face).
    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, min_score: float = 0.5) -> None:
        mp = import_mediapipe()
        fd = mp.solutions.face_detection
        with native_quiet():
            self._models: list[Any] = [
                fd.FaceDetection(model_selection=0, min_detection_confidence=min_score),
                fd.FaceDetection(model_selection=1, min_detection_confidence=min_score),
            ]
            warm_up(*self._models)

    def _boxes(self, model: Any, rgb: np.ndarray) -> list[FaceBox]:
        h, w = rgb.shape[:2]
        with native_quiet():
            res = model.process(np.ascontiguousarray(rgb))
        boxes = []
        for det in res.detections or []:
            bb = det.location_data.relative_bounding_box
            box = FaceBox(
                x0=bb.xmin * w, y0=bb.ymin * h, width=bb.width * w, height=bb.height * h,
                score=float(det.score[0]),
            )
            if box.width > 1 and box.height > 1:
                boxes.append(box)
        return boxes

    def detect(self, rgb: np.ndarray) -> FaceBox | None:
        """The subject's face box in ``rgb`` ``[H, W, 3]`` uint8, or None."""
        return self.detect_all(rgb)[0]

    def detect_all(self, rgb: np.ndarray) -> tuple[FaceBox | None, list[FaceBox]]:
        """(the subject's face box or None, every other face in ``rgb``).

        The subject's box is what :meth:`detect` returns (short-range model first, largest
        confident face). Other faces are gathered from both models (so small faces in the
        background count too), overlapping boxes merged.
        """
        per_model = [self._boxes(m, rgb) for m in self._models]
        subject = None
        for boxes in per_model:
            if boxes:
                subject = max(boxes, key=lambda b: (b.width * b.height, b.score))
                break
        others: list[FaceBox] = []
        for b in sorted((b for bs in per_model for b in bs), key=lambda b: -b.score):
            if subject is not None and overlap(b, subject) > 0.3:
                continue
            if all(overlap(b, o) <= 0.3 for o in others):
                others.append(b)
        return subject, others

    def close(self) -> None:
        for m in self._models:
            m.close()
        self._models = []

