"""Both bundled detectors on real faces: shapes, anatomy, agreement, no-face, cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from headforge.config import TrackConfig
from headforge.track import (
    LandmarkCache,
    LandmarkResult,
    detect_landmarks,
    detectors_available,
    make_detector,
    to_ibug68,
)


def _check_anatomy(r: LandmarkResult) -> None:
    """Frontal-face sanity in the iBUG-68 layout (image x grows to the subject's left)."""
    p = to_ibug68(r).points
    assert p is not None
    assert p[36, 0] < p[39, 0] < p[42, 0] < p[45, 0], "eye corners out of order"
    assert p[27, 1] < p[30, 1] < p[33, 1] < p[51, 1] < p[57, 1] < p[8, 1], "midline out of order"
    assert p[48, 0] < p[54, 0] and p[0, 0] < p[8, 0] < p[16, 0]
    x0, y0, x1, y1 = r.box  # type: ignore[misc]
    size = r.face_size
    inside = (p[:, 0] > x0 - 0.2 * size) & (p[:, 0] < x1 + 0.2 * size) & (p[:, 1] < y1 + 0.3 * size)
    assert inside.all()


def _images(request: pytest.FixtureRequest) -> list[tuple[str, np.ndarray]]:
    imgs = [("astronaut", request.getfixturevalue("astronaut"))]
    imgs.append(("grace_hopper", request.getfixturevalue("grace_hopper")))
    for i, f in enumerate(request.getfixturevalue("d3_frames")):
        imgs.append((f"d3_{i}", f))
    return imgs


def test_mediapipe_on_real_faces(request: pytest.FixtureRequest, mediapipe_detector) -> None:
    for name, img in _images(request):
        r = mediapipe_detector.detect(img)
        assert r.found, f"{name}: {r.reason}"
        assert r.convention == "mediapipe478" and r.points.shape == (478, 2)
        assert r.points.dtype == np.float32 and r.image_size == img.shape[:2]
        assert np.all((r.confidence > 0.4) & (r.confidence <= 1.0)), name
        _check_anatomy(r)


def test_dlib_on_real_faces(request: pytest.FixtureRequest, dlib_detector) -> None:
    for name, img in _images(request):
        r = dlib_detector.detect(img)
        assert r.found, f"{name}: {r.reason}"
        assert r.convention == "ibug68" and r.points.shape == (68, 2) and r.score > 0.0
        assert np.all((r.confidence > 0.5) & (r.confidence < 1.0))
        _check_anatomy(r)


def test_detectors_agree(request: pytest.FixtureRequest, mediapipe_detector, dlib_detector) -> None:
    """MediaPipe (mapped to iBUG-68) and dlib put eye corners within 4 % of the face size."""
    for name, img in _images(request):
        a = to_ibug68(mediapipe_detector.detect(img))
        b = dlib_detector.detect(img)
        size = b.face_size
        d = np.linalg.norm(a.points - b.points, axis=1) / size  # type: ignore[operator]
        eyes = d[[36, 39, 42, 45]]
        assert eyes.max() < 0.04, f"{name}: eye corners differ by {eyes.round(3)} of face size"
        assert d[27:68].mean() < 0.03, f"{name}: inner face differs by {d[27:].mean():.3f}"
        assert d.mean() < 0.05, f"{name}: all 68 differ by {d.mean():.3f} of face size"


@pytest.mark.parametrize("fixture", ["mediapipe_detector", "dlib_detector"])
def test_no_face_is_explicit(request: pytest.FixtureRequest, fixture: str) -> None:
    det = request.getfixturevalue(fixture)
    rng = np.random.default_rng(1)
    for img in (np.zeros((256, 256, 3), np.uint8), rng.integers(0, 255, (200, 300, 3), np.uint8)):
        r = det.detect(img)
        assert not r.found and r.points is None and "no face" in r.reason
        assert r.image_size == img.shape[:2]


def test_cache_hit_is_identical(tmp_path: Path, astronaut, mediapipe_detector) -> None:
    cache = LandmarkCache(tmp_path / "cache")
    first = detect_landmarks(mediapipe_detector, astronaut, cache)
    assert (cache.hits, cache.misses) == (0, 1)
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 1
    again = detect_landmarks(mediapipe_detector, astronaut, cache)
    assert (cache.hits, cache.misses) == (1, 1)
    np.testing.assert_array_equal(first.points, again.points)
    np.testing.assert_array_equal(first.confidence, again.confidence)
    assert first.box == again.box and first.score == again.score
    # a one-pixel change is a different frame
    changed = astronaut.copy()
    changed[0, 0, 0] ^= 1
    detect_landmarks(mediapipe_detector, changed, cache)
    assert cache.misses == 2


def test_cache_stores_no_face_and_ignores_corrupt_entries(tmp_path: Path, dlib_detector) -> None:
    cache = LandmarkCache(tmp_path)
    blank = np.full((64, 64, 3), 128, np.uint8)
    r = cache.detect(dlib_detector, blank)
    assert not r.found
    assert not cache.detect(dlib_detector, blank).found and cache.hits == 1
    entry = next(tmp_path.rglob("*.npz"))
    entry.write_bytes(b"not an npz")
    assert not cache.detect(dlib_detector, blank).found and cache.misses == 2


def test_make_detector_from_config() -> None:
    det = make_detector(TrackConfig(detector="dlib"))
    assert det.name == "dlib" and det.version.startswith("dlib-")
    status = detectors_available()
    assert status["mediapipe"].available and status["dlib"].available
    # without configured weights face_alignment cannot run, installed or not
    assert not status["face_alignment"].available
    assert "2DFAN4" in status["face_alignment"].reason


@pytest.mark.parametrize("installed", [False, True])
def test_face_alignment_availability_follows_weights_and_package(
        installed: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the weights in place, the package decides (its probe is patched: the answer does
    not depend on what is installed here)."""
    from headforge.track import detect_face_alignment

    monkeypatch.setattr(detect_face_alignment, "face_alignment_installed", lambda: installed)
    (tmp_path / "s3fd-619a316812.pth").write_bytes(b"")
    (tmp_path / "2DFAN4-cd938726ad.zip").write_bytes(b"")
    st = detectors_available(TrackConfig(face_alignment_weights=str(tmp_path)))["face_alignment"]
    assert st.available == installed
    assert st.reason == ("" if installed else "pip install face-alignment")


def test_detectors_are_registered_backends() -> None:
    from headforge import backends

    assert backends.available("mediapipe") and backends.available("dlib")
    st = backends.status("face_alignment")  # default settings: no weights folder configured
    assert not st.available and "pip install face-alignment" in st.detail
    assert "track.face_alignment_weights" in st.detail
