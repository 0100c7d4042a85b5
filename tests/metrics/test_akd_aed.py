"""AKD on known point sets and on the track detector's landmarks of a shifted portrait;
AED/APD on known expression codes and rotations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from headforge.metrics.aed import aed, apd, rotation_angle_deg
from headforge.metrics.akd import akd


def test_akd_known_pairs() -> None:
    p = np.random.default_rng(0).uniform(0, 128, (68, 2))
    assert akd(p, p, 128) == 0.0
    assert akd(p + [3.0, 4.0], p, 128) == pytest.approx(10.0)  # 5 px at 128 = 10 at 256
    with pytest.raises(ValueError, match="same detector"):
        akd(p[:10], p, 128)


def test_akd_from_the_landmark_detector_follows_a_shift() -> None:
    from skimage import data

    from headforge.config import TrackConfig
    from headforge.track.detectors import make_detector

    img = data.astronaut()[:256, 100:356].copy()
    shifted = np.roll(img, 6, axis=1)
    with make_detector(TrackConfig()) as det:
        a, b, c = det.detect(img), det.detect(img.copy()), det.detect(shifted)
    assert a.points is not None and b.points is not None and c.points is not None
    assert akd(b.points, a.points, 256) == pytest.approx(0.0, abs=1e-6)
    moved = akd(c.points, a.points, 256)
    assert 4.0 < moved < 8.0  # the face moved 6 px


def test_aed_apd_known_pairs() -> None:
    e = np.random.default_rng(1).normal(size=(4, 23))
    assert aed(e, e) == 0.0
    assert aed(e + 0.5, e) == pytest.approx(0.5)
    assert aed(e + 0.5, e) < aed(e + 1.0, e)
    r = Rotation.from_rotvec(np.random.default_rng(2).normal(scale=0.3, size=(4, 3)))
    assert apd(r.as_matrix(), r.as_matrix()) == pytest.approx(0.0, abs=1e-5)
    turned = (Rotation.from_euler("y", 10, degrees=True) * r).as_matrix()
    assert rotation_angle_deg(turned, r.as_matrix()) == pytest.approx([10.0] * 4, abs=1e-6)
    more = (Rotation.from_euler("y", 25, degrees=True) * r).as_matrix()
    assert apd(more, r.as_matrix()) > apd(turned, r.as_matrix())
