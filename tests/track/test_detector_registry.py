"""A detector registered in one place is known to config validation, the CLI, ``--help``,
``make_detector``, the availability list and the backend summary; and gone once removed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from headforge import backends
from headforge.config import ConfigError, TrackConfig, load_section
from headforge.track import LandmarkResult, make_detector
from headforge.track.base import LandmarkDetector
from headforge.track.cli import app
from headforge.track.detectors import (
    DETECTORS,
    DetectorEntry,
    DetectorStatus,
    detectors_available,
)


class CentreDetector(LandmarkDetector):
    """Test fake: 68 points on a circle in the middle of the image."""

    name = "centre_fake"
    convention = "ibug68"

    @property
    def version(self) -> str:
        return "centre-fake-1"

    def detect(self, image: np.ndarray) -> LandmarkResult:
        h, w = image.shape[:2]
        a = np.linspace(0, 2 * np.pi, 68, endpoint=False)
        pts = np.stack([w / 2 + w / 4 * np.cos(a), h / 2 + h / 4 * np.sin(a)], 1)
        return LandmarkResult(detector=self.name, image_size=(h, w), convention="ibug68",
                              points=pts.astype(np.float32), confidence=np.ones(68, np.float32),
                              box=(w / 4, h / 4, 3 * w / 4, 3 * h / 4), score=1.0)


FAKE = DetectorEntry("centre_fake", "ibug68", lambda cfg: CentreDetector(),
                     lambda cfg: DetectorStatus(True, ""), summary="test fake")


def test_a_registered_detector_is_known_everywhere(tmp_path: Path) -> None:
    params = {"track": {"detector": "centre_fake"}}
    with pytest.raises(ConfigError, match="choose one of mediapipe, dlib, face_alignment"):
        load_section(TrackConfig, "track", params=params)
    assert "centre_fake" not in backends.summary()
    runner = CliRunner()
    img = tmp_path / "grey.png"
    Image.fromarray(np.full((64, 80, 3), 128, np.uint8)).save(img)
    with DETECTORS.registered(FAKE):
        cfg = load_section(TrackConfig, "track", params=params)  # config validation
        assert cfg.detector == "centre_fake"
        det = make_detector(cfg)
        assert isinstance(det, CentreDetector)
        assert detectors_available()["centre_fake"].available
        assert backends.status("centre_fake").available and "centre_fake" in backends.summary()
        out = runner.invoke(app, ["detectors"])
        assert out.exit_code == 0 and "centre_fake     ok" in out.output, out.output
        assert "ibug68: test fake" in out.output
        out = runner.invoke(app, ["landmarks", "--help"], env={"COLUMNS": "200"})
        assert "centre_fake" in out.output and "mediapipe" in out.output
        out = runner.invoke(app, ["landmarks", str(img), "--detector", "centre_fake"])
        assert out.exit_code == 0, out.output
        res = json.loads(out.output)
        assert res["detector"] == "centre_fake" and res["found"] and res["points"] == 68
    # gone again, everywhere
    assert "centre_fake" not in DETECTORS and "centre_fake" not in backends.summary()
    with pytest.raises(ConfigError):
        load_section(TrackConfig, "track", params=params)
    out = runner.invoke(app, ["landmarks", "--help"], env={"COLUMNS": "200"})
    assert "centre_fake" not in out.output
    out = runner.invoke(app, ["landmarks", str(img), "--detector", "centre_fake"],
                        env={"COLUMNS": "300"})
    assert out.exit_code == 2 and "not a registered landmark detector" in out.output


def test_entry_layout_must_be_known_and_match_the_detector() -> None:
    with pytest.raises(ValueError, match="layout 'dlib68'"):
        DetectorEntry("bad", "dlib68", FAKE.factory, FAKE.probe)  # type: ignore[arg-type]
    wrong = DetectorEntry("centre_fake", "mediapipe478", FAKE.factory, FAKE.probe)
    with DETECTORS.registered(wrong), pytest.raises(Exception, match="layout mediapipe478"):
        make_detector(TrackConfig(detector="centre_fake"))


def test_builtin_entries_load_lazily_with_their_layouts() -> None:
    layouts = {e.name: e.layout for e in DETECTORS.entries()}
    assert layouts == {"mediapipe": "mediapipe478", "dlib": "ibug68", "face_alignment": "ibug68"}
