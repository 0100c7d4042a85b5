"""Face boxes from MediaPipe's face detector (the BlazeFace models shipped in its wheel)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from headforge.io_utils import Closeable


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


class FaceDetector(Closeable):
    """MediaPipe face detection: the short-range model first, the full-range one as fallback.

    Of several faces the largest confident one is kept (the subject is the nearest face).
    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, min_score: float = 0.5) -> None:
        import mediapipe as mp

        fd = mp.solutions.face_detection
        self._models: list[Any] = [
            fd.FaceDetection(model_selection=0, min_detection_confidence=min_score),
            fd.FaceDetection(model_selection=1, min_detection_confidence=min_score),
        ]

    def detect(self, rgb: np.ndarray) -> FaceBox | None:
        """The subject's face box in ``rgb`` ``[H, W, 3]`` uint8, or None."""
        h, w = rgb.shape[:2]
        for model in self._models:
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
            if boxes:
                return max(boxes, key=lambda b: (b.width * b.height, b.score))
        return None

    def close(self) -> None:
        for m in self._models:
            m.close()
        self._models = []

