"""Foreground masks for crops that came without one.

``selfie``: MediaPipe's selfie segmentation (the general 256x256 model shipped in its wheel),
its person probability stored as an 8-bit alpha. ``grabcut``: OpenCV GrabCut seeded with the
crop layout (the face region is sure foreground, a thin border sure background), seeded RNG so
it is deterministic. ``auto`` uses selfie and falls back to grabcut when MediaPipe's graph
cannot be built (e.g. a build of mediapipe without the solution's model files).
Given masks always take precedence over both; see :mod:`headforge.ingest.ingest`.
"""

from __future__ import annotations

from typing import Any, Literal

import cv2
import numpy as np

from headforge.io_utils import Closeable
from headforge.quiet import import_mediapipe, native_quiet, warm_up

MaskMethod = Literal["auto", "selfie", "grabcut"]

GRABCUT_ITERS = 4
BORDER = 0.03
"""Width of the sure-background border, as a fraction of the crop."""


def grabcut_mask(rgb: np.ndarray, core: tuple[int, int, int, int]) -> np.ndarray:
    """GrabCut foreground of ``rgb`` [H, W, 3] with the ``core`` box (x0, y0, x1, y1) as sure
    foreground -> uint8 [H, W] in {0, 255}."""
    h, w = rgb.shape[:2]
    m = np.full((h, w), cv2.GC_PR_FGD, dtype=np.uint8)
    b = max(1, round(BORDER * min(h, w)))
    m[:b], m[-b:], m[:, :b], m[:, -b:] = (cv2.GC_BGD,) * 4
    x0, y0, x1, y1 = core
    m[max(y0, b) : min(y1, h - b), max(x0, b) : min(x1, w - b)] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    cv2.grabCut(bgr, m, (0, 0, 0, 0), bgd, fgd, GRABCUT_ITERS, cv2.GC_INIT_WITH_MASK)
    fg = (m == cv2.GC_FGD) | (m == cv2.GC_PR_FGD)
    return np.where(fg, 255, 0).astype(np.uint8)


class Segmenter(Closeable):
    """Computes a foreground mask for a head crop. ``method_used`` says which method runs."""

    def __init__(self, method: MaskMethod = "auto") -> None:
        self._selfie: Any = None
        self.method_used: Literal["selfie", "grabcut"] = "grabcut"
        if method in ("auto", "selfie"):
            try:
                mp = import_mediapipe()
                with native_quiet():
                    self._selfie = mp.solutions.selfie_segmentation.SelfieSegmentation(
                        model_selection=0
                    )
                    warm_up(self._selfie)
                self.method_used = "selfie"
            except (ImportError, AttributeError, RuntimeError, FileNotFoundError):
                if method == "selfie":
                    raise
                self._selfie = None

    def __call__(self, rgb: np.ndarray, core: tuple[int, int, int, int]) -> np.ndarray:
        """uint8 [H, W] foreground alpha of ``rgb`` [H, W, 3]; ``core`` as in grabcut_mask."""
        if self._selfie is None:
            return grabcut_mask(rgb, core)
        with native_quiet():
            prob = self._selfie.process(np.ascontiguousarray(rgb)).segmentation_mask
        return np.clip(np.round(prob * 255.0), 0, 255).astype(np.uint8)

    def close(self) -> None:
        if self._selfie is not None:
            self._selfie.close()
            self._selfie = None

