from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from headforge.report import build_report, collect


def _fake_run(root: Path) -> None:
    """Lay out results the way the stages write them (values are arbitrary test inputs)."""
    ev = root / "results" / "evaluate"
    ev.mkdir(parents=True)
    (ev / "metrics.json").write_text(
        json.dumps({"mean": {"prior": {"psnr": 24.5}, "baseline": {"psnr": 18.1}}})
    )
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((32, 96, 3)) * 255).astype(np.uint8)).save(ev / "grid_views.png")
    plots = root / "results" / "train_prior" / "dvclive" / "plots" / "metrics"
    plots.mkdir(parents=True)
    (plots / "loss.tsv").write_text("step\tloss\n0\t1.0\n1\t0.6\n2\t0.4\n")
    inv = root / "results" / "invert" / "synth_007"
    (inv / "renders").mkdir(parents=True)
    frames = [Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)) for i in range(3)]
    frames[0].save(inv / "turntable.gif", save_all=True, append_images=frames[1:])
    frames[1].save(inv / "renders" / "view_00.png")
    (root / "results" / "timings").mkdir(parents=True)
    (root / "results" / "timings" / "train_prior.json").write_text(
        json.dumps({"stage": "train_prior", "seconds": 12.5})
    )


def test_collect_finds_every_section(tmp_path: Path) -> None:
    _fake_run(tmp_path)
    d = collect(tmp_path)
    assert d.metrics["mean"]["prior"]["psnr"] == 24.5
    assert d.curves["loss"] == [(0.0, 1.0), (1.0, 0.6), (2.0, 0.4)]
    assert [g.name for g in d.grids] == ["grid_views.png"]
    assert [t.parent.name for t in d.turntables] == ["synth_007"]
    assert d.timings == {"train_prior": 12.5}


def test_report_is_self_contained_and_names_missing_sections(tmp_path: Path) -> None:
    page = build_report(tmp_path)
    text = page.read_text()
    assert "run the evaluate stage" in text and "run train_prior" in text
    _fake_run(tmp_path)
    page = build_report(tmp_path)
    text = page.read_text()
    assert "24.5000" in text and "train_prior" in text
    for src in [s.split('"')[0] for s in text.split('src="')[1:]]:
        assert (page.parent / src).is_file(), src
        assert not src.startswith(("http", "/"))


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    _fake_run(tmp_path)
    page = build_report(tmp_path)
    shot = tmp_path / "shot.png"
    cmd = [
        str(_chromium()), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,1400",
        f"--screenshot={shot}", page.as_uri(),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    img = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert img.shape[0] > 500
    assert img.std() > 5.0, "screenshot is blank"
    assert (img < 128).mean() > 0.005, "no dark pixels: text and images did not render"
