from __future__ import annotations

import numpy as np
import pytest

from headforge.track import LandmarkResult, as_rgb_uint8


def _found(n: int = 68) -> LandmarkResult:
    rng = np.random.default_rng(0)
    pts = rng.uniform(10, 100, size=(n, 2)).astype(np.float32)
    return LandmarkResult(
        detector="dlib",
        image_size=(128, 128),
        convention="ibug68",
        points=pts,
        confidence=np.full(n, 0.9, np.float32),
        box=(10.0, 10.0, 100.0, 100.0),
        score=1.2,
    )


def test_no_face_needs_a_reason_and_carries_no_points() -> None:
    with pytest.raises(ValueError, match="reason"):
        LandmarkResult(detector="x", image_size=(8, 8))
    r = LandmarkResult.no_face("x", (8, 8), "blank")
    assert not r.found and r.points is None and r.confidence is None and r.box is None
    assert np.isnan(r.face_size)


def test_points_are_validated() -> None:
    good = _found()
    with pytest.raises(ValueError, match=r"\[68, 2\]"):
        LandmarkResult(**{**good.__dict__, "points": good.points[:10]})  # type: ignore[index]
    bad = good.points.copy()  # type: ignore[union-attr]
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LandmarkResult(**{**good.__dict__, "points": bad})


@pytest.mark.parametrize("found", [True, False])
def test_npz_round_trip(found: bool) -> None:
    r = _found() if found else LandmarkResult.no_face("mediapipe", (64, 48), "no face")
    back = LandmarkResult.from_npz_bytes(r.to_npz_bytes())
    assert back.found == r.found and back.reason == r.reason and back.image_size == r.image_size
    if found:
        np.testing.assert_array_equal(back.points, r.points)  # type: ignore[arg-type]
        np.testing.assert_array_equal(back.confidence, r.confidence)  # type: ignore[arg-type]
        assert back.box == r.box and back.score == r.score and back.convention == "ibug68"


def test_image_validation() -> None:
    assert as_rgb_uint8(np.zeros((16, 16))).shape == (16, 16, 3)
    assert as_rgb_uint8(np.ones((16, 16, 4), np.float32))[0, 0, 0] == 255
    with pytest.raises(ValueError, match=r"\[H, W, 3\]"):
        as_rgb_uint8(np.zeros((16, 16, 2), np.uint8))
    with pytest.raises(ValueError, match="NaN"):
        as_rgb_uint8(np.full((16, 16, 3), np.nan, np.float32))
