"""MediaPipe face mesh (478 points: 468 mesh vertices + 10 iris points).

Uses the legacy ``mediapipe.solutions.face_mesh`` graph shipped inside the mediapipe wheel
(``static_image_mode=True``, ``refine_landmarks=True``), so no model download is needed.

Confidence: the face mesh solution reports no per-point confidence and no face score. We run
MediaPipe's face detector (also shipped in the wheel) on the same image and give every point
the score of the detection that best overlaps the mesh. When the mesh finds a face but the
separate detector does not, every point gets ``min_detection_confidence`` (the threshold the
mesh's own internal detector passed) and ``score`` is NaN.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

import numpy as np

from headforge.quiet import import_mediapipe, native_quiet, warm_up
from headforge.track.base import LandmarkDetector
from headforge.track.detectors import DetectorEntry, DetectorStatus
from headforge.track.result import LandmarkError, LandmarkResult, as_rgb_uint8, box_from_points

if TYPE_CHECKING:
    from headforge.config import TrackConfig

_CODE_VERSION = "1"


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class MediaPipeDetector(LandmarkDetector):
    """MediaPipe face mesh with refined irises: ``mediapipe478`` points."""

    name = "mediapipe"
    convention = "mediapipe478"

    def __init__(self, min_detection_confidence: float = 0.5) -> None:
        try:
            mp = import_mediapipe()
        except ImportError as e:  # pragma: no cover - mediapipe is a core dependency
            raise LandmarkError(
                "detector: mediapipe needs the mediapipe package: pip install mediapipe==0.10.21"
            ) from e
        self._mp_version = str(mp.__version__)
        self._min_conf = float(min_detection_confidence)
        with native_quiet():  # TFLite/glog lines on model creation (headforge.quiet)
            self._mesh: Any = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True,
                max_num_faces=1,
                refine_landmarks=True,
                min_detection_confidence=self._min_conf,
            )
            self._detectors: list[Any] = [
                mp.solutions.face_detection.FaceDetection(
                    model_selection=sel, min_detection_confidence=0.1
                )
                for sel in (0, 1)  # short range (faces within ~2 m), then full range
            ]
            warm_up(self._mesh, *self._detectors)

    @property
    def version(self) -> str:
        return f"mediapipe-{self._mp_version}-facemesh478-conf{self._min_conf:g}-v{_CODE_VERSION}"

    def _face_score(self, image: np.ndarray, box: tuple[float, float, float, float]) -> float:
        h, w = image.shape[:2]
        best_score, best_iou = float("nan"), 0.1
        for det in self._detectors:
            with native_quiet():
                res = det.process(image)
            for d in res.detections or []:
                rb = d.location_data.relative_bounding_box
                b = (rb.xmin * w, rb.ymin * h, (rb.xmin + rb.width) * w, (rb.ymin + rb.height) * h)
                iou = _iou(box, b)
                if iou > best_iou:
                    best_iou, best_score = iou, float(d.score[0])
            if np.isfinite(best_score):
                break
        return best_score

    def detect(self, image: np.ndarray) -> LandmarkResult:
        image = as_rgb_uint8(image)
        h, w = image.shape[:2]
        with native_quiet():
            res = self._mesh.process(image)
        if not res.multi_face_landmarks:
            return LandmarkResult.no_face(
                self.name, (h, w), "mediapipe face mesh found no face in the image"
            )
        lms = res.multi_face_landmarks[0].landmark
        pts = np.array([[p.x * w, p.y * h] for p in lms], dtype=np.float32)
        if pts.shape[0] != 478 or not np.all(np.isfinite(pts)):
            return LandmarkResult.no_face(
                self.name, (h, w), f"mediapipe returned {pts.shape[0]} invalid points"
            )
        box = box_from_points(pts[:468])
        score = self._face_score(image, box)
        conf_value = score if np.isfinite(score) else self._min_conf
        return LandmarkResult(
            detector=self.name,
            image_size=(h, w),
            convention="mediapipe478",
            points=pts,
            confidence=np.full(478, conf_value, dtype=np.float32),
            box=box,
            score=score,
        )

    def close(self) -> None:
        self._mesh.close()
        for d in self._detectors:
            d.close()


def _make(config: TrackConfig) -> MediaPipeDetector:
    return MediaPipeDetector(min_detection_confidence=config.min_detection_confidence)


def _probe(config: TrackConfig) -> DetectorStatus:
    if importlib.util.find_spec("mediapipe") is None:
        return DetectorStatus(False, "pip install mediapipe==0.10.21")
    return DetectorStatus(True, "")


ENTRY = DetectorEntry(
    "mediapipe", "mediapipe478", _make, _probe, dist="mediapipe",
    summary="MediaPipe face mesh + irises, 478 points (Apache-2.0, model inside the wheel)",
)
