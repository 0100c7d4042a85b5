"""``headforge model ...`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from headforge.morphable.builtin import build_builtin
from headforge.morphable.cli import app
from headforge.morphable.io import load_flame

runner = CliRunner()


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADFORGE_ROOT", str(tmp_path))  # no params.yaml: built-in defaults
    monkeypatch.chdir(tmp_path)


def test_export_writes_a_loadable_flame_file(tmp_path: Path) -> None:
    res = runner.invoke(app, ["export", "--out", "builtin_flame.npz"])
    assert res.exit_code == 0, res.output
    d = load_flame(tmp_path / "builtin_flame.npz")
    np.testing.assert_array_equal(d["shapedirs"], build_builtin()["shapedirs"])


def test_info_and_show(tmp_path: Path) -> None:
    res = runner.invoke(app, ["info"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["landmarks68"] and info["uvs"] and info["parts"]["scalp"] > 0
    res = runner.invoke(app, ["show", "--out", "model.png", "--size", "64", "--samples", "2"])
    assert res.exit_code == 0, res.output
    img = np.asarray(Image.open(tmp_path / "model.png"))
    assert img.shape == (3 * 64, 4 * 64, 3)
    assert img.std() > 10  # something was drawn


def test_flame_source_with_a_missing_file_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text(
        "head_model:\n  source: flame\n  flame_path: models/generic_model.pkl\n"
    )
    res = runner.invoke(app, ["info"])
    assert res.exit_code != 0
    # as a traceback-free one-line error (once headforge.cli wraps the sub-apps) or raised
    said = res.output + getattr(res, "stderr", "") + str(res.exception)
    assert "generic_model.pkl" in said
