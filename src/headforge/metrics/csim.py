"""CSIM: cosine similarity of face-recognition embeddings (identity preservation).

The embedding is dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1``,
128-D), aligned with dlib's 5-point shape predictor; both files ship in the
``face_recognition_models`` wheel, so nothing is downloaded. Davis King released these model
files into the public domain (docs/benchmark.md has the details and the training data).

Renders of an avatar are often too soft for the HOG face detector; a face box can therefore be
passed in (the benchmark uses the box found on the ground-truth frame the render is aligned
with: same camera, same head pose).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

RECOGNITION_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
ALIGNMENT_MODEL = "shape_predictor_5_face_landmarks.dat"

Box = tuple[float, float, float, float]
"""(x0, y0, x1, y1) in pixels."""


def model_path(name: str) -> Path:
    """A model file inside ``face_recognition_models`` (found without importing it: its
    ``__init__`` needs ``pkg_resources``); the error names the fix."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("CSIM needs dlib's models from face_recognition_models: "
                                "pip install face-recognition-models==0.3.0")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall face-recognition-models==0.3.0 "
                                f"(it ships {name})")
    return path


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors (1: same direction)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


class FaceEmbedder:
    """128-D identity embeddings of the most prominent face in an RGB uint8 image."""

    def __init__(self, upsample: int = 1) -> None:
        import dlib

        self._dlib: Any = dlib
        self._upsample = int(upsample)
        self._det: Any = dlib.get_frontal_face_detector()
        self._sp: Any = dlib.shape_predictor(str(model_path(ALIGNMENT_MODEL)))
        self._rec: Any = dlib.face_recognition_model_v1(str(model_path(RECOGNITION_MODEL)))

    def detect(self, image: np.ndarray) -> Box | None:
        """The highest-scoring HOG face box, or None."""
        img = np.ascontiguousarray(image)
        rects, scores, _ = self._det.run(img, self._upsample, 0.0)
        if not len(rects):
            return None
        r = rects[int(np.argmax(scores))]
        return (float(r.left()), float(r.top()), float(r.right()), float(r.bottom()))

    def embed(self, image: np.ndarray, box: Box | None = None) -> np.ndarray | None:
        """Embedding of the face in ``box`` (default: the detected one); None without a face."""
        img = np.ascontiguousarray(image)
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"FaceEmbedder.embed expects an [H, W, 3] uint8 RGB image, got "
                             f"{img.dtype} {img.shape}")
        box = box if box is not None else self.detect(img)
        if box is None:
            return None
        rect = self._dlib.rectangle(*(int(round(v)) for v in box))
        shape = self._sp(img, rect)
        return np.asarray(self._rec.compute_face_descriptor(img, shape), dtype=np.float64)

    def csim(self, image: np.ndarray, reference: np.ndarray, box: Box | None = None,
             reference_box: Box | None = None) -> float | None:
        """Cosine similarity of two faces' embeddings; None when either has no face."""
        a = self.embed(image, box)
        b = self.embed(reference, reference_box)
        return None if a is None or b is None else cosine(a, b)
