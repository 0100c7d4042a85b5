"""The exported web page in real headless Chromium (software GL), against headforge's render."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from headforge.export.bake import head_vertices
from headforge.export.check import chromium, foreground_psnr, project, region_change, serve, shoot
from headforge.export.formats import FORMATS
from headforge.export.job import prepare, render_baked
from tests.export.conftest import ROOT, jaw_sequence

SIZE = 192


@pytest.mark.skipif(chromium() is None, reason="Debian's chromium is not installed "
                    "(.ci/run installs it)")
def test_viewer_matches_torch_and_plays(prior, bundle: Path, tmp_path: Path,
                                        web_built: Path) -> None:
    job = prepare(bundle, prior, jaw_sequence(tmp_path / "driver", n=3, jaw_max=0.35), fps=8.0)
    # the tiny test prior decodes a flat grey head; paint its Gaussians with UV stripes so that
    # misplaced splats (position, camera, jaw) show in the comparison
    uv = prior.binding().uv.numpy()
    job.baked.base[:, 11:14] = 0.5 + 0.4 * np.stack(
        [np.sin(2 * np.pi * 6 * uv[:, 0]), np.sin(2 * np.pi * 6 * uv[:, 1]),
         np.cos(2 * np.pi * 3 * (uv[:, 0] + uv[:, 1]))], 1)
    job.baked.blend[:, :, 11:14] = 0.0
    site = tmp_path / "site"
    FORMATS["web"].write(job, site)
    assert {p.name for p in site.iterdir()} >= {"index.html", "viewer.js", "avatar.json",
                                                "avatar.bin", "animation.json"}
    html = (site / "index.html").read_text()
    assert "http" not in html  # nothing fetched from elsewhere at view time
    with serve(site) as url:
        rep = shoot(ROOT / "web", url, tmp_path / "shots", [0, 2], SIZE, SIZE, fps_seconds=2.0)
    assert "SwiftShader" in rep["renderer"] or rep["renderer"], rep
    shots = {s["frame"]: np.asarray(Image.open(s["path"]).convert("RGB")) for s in rep["shots"]}
    assert shots[0].shape == (SIZE, SIZE, 3)
    cam = job.camera.scaled(SIZE, SIZE)
    ref = render_baked(job.baked, job.frame(0), cam)
    psnr, fg = foreground_psnr(shots[0], ref)
    Image.fromarray(np.concatenate([ref, shots[0]], 1)).save(tmp_path / "side_by_side.png")
    assert fg > 0.1, "the head should fill part of the picture"
    assert psnr >= 25.0, f"browser vs torch PSNR {psnr:.1f} dB on the foreground"
    # the animation: the jaw opened between frames 0 and 2, so the pictures differ around the
    # mouth (the jaw joint's vertices, projected) far more than elsewhere
    jaw = job.baked.weights[:, 2] > 0.5
    pts = np.concatenate([head_vertices(job.baked, job.frame(i))[0].numpy()[jaw] for i in (0, 2)])
    uv = project(pts, cam)
    box = (int(uv[:, 0].min()), int(uv[:, 1].min()), int(uv[:, 0].max()) + 1,
           int(uv[:, 1].max()) + 1)
    inside, outside = region_change(shots[0], shots[2], box)
    assert inside > 3.0 and inside > 4 * outside, (inside, outside, box)
    # while playing, frames advance and each is evaluated and drawn
    assert rep["updatesPerSecond"] > 1.0 and rep["fps"] > 1.0, rep
