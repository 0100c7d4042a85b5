"""``headforge splat`` commands and the config hook."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from headforge.render_settings import configure
from headforge.splat.cli import app
from headforge.splat.gaussians import GaussianParams
from headforge.splat.ply import write_ply
from headforge.splat.render import rasterize, render_kwargs
from headforge.splat.scenes import random_scene

runner = CliRunner()


def test_demo_writes_a_nonempty_picture(tmp_path):
    out = tmp_path / "demo.png"
    res = runner.invoke(app, ["demo", "--out", str(out), "--size", "48", "--views", "2",
                              "--backend", "torch"])  # fmt: skip
    assert res.exit_code == 0, res.output
    img = np.asarray(Image.open(out))
    assert img.shape == (96, 144, 3)
    assert img[:, :48].std() > 10  # something was drawn


def test_info_and_render_a_ply(tmp_path):
    s = random_scene(200, 8, 8, seed=0, sh_degree=1)
    p = GaussianParams.from_activated(s.means, s.quats, s.scales, s.opacities, sh=s.colors)
    ply = write_ply(tmp_path / "a.ply", p)
    res = runner.invoke(app, ["info", str(ply)])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["gaussians"] == 200 and info["sh_degree"] == 1
    res = runner.invoke(app, ["render", str(ply), "--out", str(tmp_path / "r.png"), "--size", "32"])
    assert res.exit_code == 0, res.output
    assert np.asarray(Image.open(tmp_path / "r.png")).shape == (32, 96, 3)
    assert runner.invoke(app, ["backends"]).exit_code == 0


def test_render_config_drives_rasterize(project_root, tmp_path):
    from headforge.context import Context
    from headforge.render_settings import configured

    before = configured()
    try:
        text = (project_root / "params.yaml").read_text()
        (tmp_path / "params.yaml").write_text(text.replace("tile_size: 8 ", "tile_size: 4 "))
        ctx = Context.load(tmp_path)
        assert ctx.params.render.tile_size == 4
        s = random_scene(30, 16, 16, seed=1)
        out = rasterize(*s.tensors(), s.Ks, 16, 16)  # no explicit settings: the context's
        assert out.meta["backend"] == "torch" and out.meta["tile_size"] == 4
        assert render_kwargs(ctx.params.render) == {"backend": "auto", "tile_size": 4}
        ref = rasterize(*s.tensors(), s.Ks, 16, 16, tile_size=8)
        torch.testing.assert_close(out.image, ref.image)  # tile size never changes the image
        with pytest.raises(ValueError, match="render.backend"):
            Context.load(tmp_path, overrides={"render": {"backend": "gpu"}})
    finally:
        configure(**before)
    assert torch.isfinite(out.image).all()
