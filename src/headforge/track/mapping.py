"""MediaPipe-478 -> iBUG-68 correspondence, so fitting can use either detector.

The index list was written for this project from the public MediaPipe face-mesh topology
(which vertex sits at an eye corner, on the lip line, on the face oval) and the 300-W point
definitions, then checked against dlib's 68-point predictor on 23 real frames (astronaut,
Grace Hopper, frames of the four ``realdata`` videos): mean disagreement 3.7 % of the
outer-eye-corner distance (eyes, brows, nose, mouth 1-5 %; the jaw line 4-10 %, because 300-W
traces the visible silhouette while a mesh vertex is fixed on the surface). Left/right pairs
are mirror-symmetric mesh vertices. "Right" is the subject's right, i.e. the image's left.
"""

from __future__ import annotations

import numpy as np

from headforge.track.result import LandmarkResult

# fmt: off
MP478_TO_IBUG68: tuple[int, ...] = (
    # 0-16 jaw line, subject's right ear -> chin (8) -> left ear
    127, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 356,
    # 17-21 right brow (outer -> inner), 22-26 left brow (inner -> outer)
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    # 27-30 nose bridge (nasion -> tip), 31-35 nostrils (right -> left, 33 = subnasale)
    168, 197, 195, 4, 75, 97, 2, 326, 305,
    # 36-41 right eye (outer corner, upper lid x2, inner corner, lower lid x2)
    33, 160, 158, 133, 153, 144,
    # 42-47 left eye (inner corner, upper lid x2, outer corner, lower lid x2)
    362, 385, 387, 263, 373, 380,
    # 48-59 outer lip contour from the right corner, clockwise in the image
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,
    # 60-67 inner lip contour from the right corner
    78, 82, 13, 312, 308, 317, 14, 87,
)
# fmt: on

IBUG68_EYE_OUTER = (36, 45)
"""iBUG-68 indices of the subject's right and left outer eye corners."""
IBUG68_EYE_INNER = (39, 42)
"""iBUG-68 indices of the inner eye corners."""
MP478_IRIS_CENTRES = (468, 473)
"""MediaPipe indices of the right and left iris centres (refined landmarks)."""

assert len(MP478_TO_IBUG68) == 68 and len(set(MP478_TO_IBUG68)) == 68


def to_ibug68(result: LandmarkResult) -> LandmarkResult:
    """The same detection in the ``ibug68`` convention (no-op when it already is)."""
    if not result.found or result.convention == "ibug68":
        return result
    assert result.points is not None and result.confidence is not None
    idx = np.asarray(MP478_TO_IBUG68)
    return LandmarkResult(
        detector=result.detector,
        image_size=result.image_size,
        convention="ibug68",
        points=result.points[idx].copy(),
        confidence=result.confidence[idx].copy(),
        box=result.box,
        score=result.score,
    )
