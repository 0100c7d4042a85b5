"""dlib: HOG face boxes + the 68-point shape predictor shipped by ``face_recognition_models``.

The predictor was trained on the iBUG 300-W data set, whose licence excludes commercial use:
results from this detector inherit that restriction. The HOG detector has no per-point
confidence; every point gets ``sigmoid(score)`` of the face's SVM margin (> 0.5 for accepted
faces) and ``score`` keeps the raw margin.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from headforge.io_utils import sha256_file
from headforge.track.base import LandmarkDetector
from headforge.track.detectors import DetectorEntry, DetectorStatus
from headforge.track.result import LandmarkError, LandmarkResult, as_rgb_uint8

if TYPE_CHECKING:
    from headforge.config import TrackConfig

_CODE_VERSION = "1"
_PREDICTOR = "shape_predictor_68_face_landmarks.dat"


def dlib_predictor_path() -> Path:
    """Path of the 68-point predictor inside ``face_recognition_models``.

    Found through the import system without importing the package (its ``__init__`` needs
    ``pkg_resources``). Raises :class:`LandmarkError` naming the fix when missing.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise LandmarkError(
            "detector: dlib needs the 68-point model from face_recognition_models: "
            "pip install face-recognition-models==0.3.0"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / _PREDICTOR
    if not path.is_file():
        raise LandmarkError(
            f"{path} is missing: reinstall face-recognition-models==0.3.0 (it ships {_PREDICTOR})"
        )
    return path


@functools.lru_cache(maxsize=4)
def _file_digest(path: str) -> str:
    return sha256_file(path)[:16]


class DlibDetector(LandmarkDetector):
    """dlib HOG detector + 68-point regression-tree predictor: ``ibug68`` points."""

    name = "dlib"
    convention = "ibug68"

    def __init__(self, upsample: int = 1, min_score: float = 0.0) -> None:
        try:
            import dlib
        except ImportError as e:  # pragma: no cover - dlib-bin is a core dependency
            raise LandmarkError("detector: dlib needs dlib: pip install dlib-bin") from e
        self._path = dlib_predictor_path()
        self._dlib_version = str(dlib.__version__)
        self._upsample = int(upsample)
        self._min_score = float(min_score)
        self._det: Any = dlib.get_frontal_face_detector()
        self._pred: Any = dlib.shape_predictor(str(self._path))

    @property
    def version(self) -> str:
        return (
            f"dlib-{self._dlib_version}-{_file_digest(str(self._path))}"
            f"-up{self._upsample}-min{self._min_score:g}-v{_CODE_VERSION}"
        )

    def detect(self, image: np.ndarray) -> LandmarkResult:
        image = as_rgb_uint8(image)
        h, w = image.shape[:2]
        rects, scores, _ = self._det.run(image, self._upsample, self._min_score)
        if len(rects) == 0:
            return LandmarkResult.no_face(
                self.name, (h, w), f"dlib HOG detector found no face (upsample={self._upsample})"
            )
        k = int(np.argmax(scores))
        rect, score = rects[k], float(scores[k])
        shape = self._pred(image, rect)
        # dlib reports integer pixel indices; +0.5 moves them to continuous pixel centres.
        pts = np.array(
            [[shape.part(i).x + 0.5, shape.part(i).y + 0.5] for i in range(68)], dtype=np.float32
        )
        conf = np.full(68, 1.0 / (1.0 + np.exp(-score)), dtype=np.float32)
        box = (
            float(rect.left()),
            float(rect.top()),
            float(rect.right() + 1),
            float(rect.bottom() + 1),
        )
        return LandmarkResult(
            detector=self.name,
            image_size=(h, w),
            convention="ibug68",
            points=pts,
            confidence=conf,
            box=box,
            score=score,
        )


def _make(config: TrackConfig) -> DlibDetector:
    return DlibDetector(upsample=config.dlib_upsample)


def _probe(config: TrackConfig) -> DetectorStatus:
    if importlib.util.find_spec("dlib") is None:
        return DetectorStatus(False, "pip install dlib-bin")
    dlib_predictor_path()  # raises LandmarkError naming the fix
    return DetectorStatus(True, "")


ENTRY = DetectorEntry(
    "dlib", "ibug68", _make, _probe, dist="dlib-bin",
    summary="dlib HOG + 68-point predictor (iBUG 300-W: non-commercial research only)",
)
