"""The ``headforge track`` commands and the QA overlay drawing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from headforge.morphable import load_head_model
from headforge.track.cli import app
from headforge.track.overlay import NEUTRAL, draw_overlay, sample_indices
from headforge.track.synthetic import project_np, rig


def test_cli_detectors_and_landmarks(tmp_path: Path, grace_hopper: np.ndarray) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["detectors"])
    assert out.exit_code == 0 and "mediapipe       ok" in out.output
    assert "face_alignment  unavailable" in out.output
    img = tmp_path / "gh.png"
    Image.fromarray(grace_hopper).save(img)
    out = runner.invoke(app, ["landmarks", str(img), "--detector", "dlib"])
    assert out.exit_code == 0, out.output
    res = json.loads(out.output)
    assert res["found"] and res["points"] == 68 and len(res["eye_corners_ibug68"]) == 4
    out = runner.invoke(app, ["landmarks", str(tmp_path / "missing.png")])
    assert out.exit_code == 2 and "cannot read image" in out.output


def test_overlay_on_neutral_background() -> None:
    model = load_head_model()
    out = model()
    K, w2c = rig(1, size=128)[0]
    lm = project_np(out.landmarks68[0].detach().double().numpy(), K, w2c)
    pic = draw_overlay(out.vertices[0].detach().numpy(), model.faces.numpy(), K, w2c, 128, 128,
                       detected=lm, fitted=lm + 1.0, image=None)  # fmt: skip
    assert pic.shape == (128, 128, 3) and pic.dtype == np.uint8
    grey = np.rint(np.array(NEUTRAL) * 255)
    np.testing.assert_array_equal(pic[0, 0], grey)  # background: no image pixels
    assert (np.abs(pic.astype(int) - grey).sum(-1) > 30).mean() > 0.05  # the head is drawn
    assert sample_indices(10, 3) == [0, 4, 9] and sample_indices(2, 5) == [0, 1]
