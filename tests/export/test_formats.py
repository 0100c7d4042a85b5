from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from headforge.export.bake import baked_gaussians
from headforge.export.formats import FORMATS
from headforge.export.gltf import read_glb
from headforge.export.job import prepare
from headforge.export.package import read_animation, read_package
from headforge.splat.ply import property_names
from tests.export.conftest import ROOT, jaw_sequence, node


def test_registry_is_what_the_command_offers() -> None:
    from typer.testing import CliRunner

    from headforge.cli import app

    assert set(FORMATS) == {"ply", "plyseq", "gltf", "web"}
    r = CliRunner().invoke(app, ["export", "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0
    for name in FORMATS:
        assert f"{name}:" in r.output


def test_static_ply_is_a_standard_3dgs_file(prior, bundle: Path, tmp_path: Path) -> None:
    from plyfile import PlyData

    job = prepare(bundle, prior)
    (path,) = FORMATS["ply"].write(job, tmp_path)
    ply = PlyData.read(str(path))
    v = ply["vertex"]
    assert [p.name for p in v.properties] == property_names(0)
    assert all(p.val_dtype in ("f4", "float32", "float") for p in v.properties)
    assert v.count == job.baked.n
    g = baked_gaussians(job.baked, job.neutral())
    xyz = np.stack([v["x"], v["y"], v["z"]], 1)
    np.testing.assert_allclose(xyz, g.means[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(1 / (1 + np.exp(-v["opacity"])), g.opacities[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(np.exp(v["scale_0"]), g.scales[0, :, 0].numpy(), rtol=1e-5)


def test_ply_sequence_one_file_per_tracked_frame(prior, bundle: Path, tmp_path: Path) -> None:
    from plyfile import PlyData

    seq = jaw_sequence(tmp_path / "driver", n=3)
    job = prepare(bundle, prior, seq, fps=10.0)
    paths = FORMATS["plyseq"].write(job, tmp_path / "out")
    frames = sorted((tmp_path / "out" / "frames").glob("*.ply"))
    assert [p.name for p in frames] == [f"frame_{i:06d}.ply" for i in range(3)]
    assert tmp_path / "out" / "animation.json" in paths
    y = [np.asarray(PlyData.read(str(p))["vertex"]["y"]) for p in frames]
    moved = np.abs(y[2] - y[0])
    assert moved.max() > 5e-3  # the jaw opened: lower-face Gaussians dropped by millimetres
    assert np.median(moved) < 1e-4  # the rest of the head stayed
    names, params, fps = read_animation(tmp_path / "out" / "animation.json")
    assert names == ["000000", "000001", "000002"] and fps == 10.0
    assert params["jaw_pose"][2, 0] == pytest.approx(0.3)


def test_gltf_package_validates_and_round_trips(prior, bundle: Path, tmp_path: Path,
                                                web_built: Path) -> None:
    job = prepare(bundle, prior, jaw_sequence(tmp_path / "driver", n=4), fps=12.0)
    FORMATS["gltf"].write(job, tmp_path / "pkg")
    glb = tmp_path / "pkg" / "head.glb"
    r = subprocess.run([node(), str(ROOT / "web" / "validate_gltf.mjs"), str(glb)],
                       capture_output=True, text=True, check=True)
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["numErrors"] == 0 and report["numWarnings"] == 0, report["messages"]
    assert report["info"]["hasSkins"] and report["info"]["hasMorphTargets"]
    assert report["info"]["animationCount"] == 1
    gltf, blob = read_glb(glb)
    prim = gltf["meshes"][0]["primitives"][0]
    assert len(prim["targets"]) == job.baked.n_expr
    assert [gltf["nodes"][j]["name"] for j in gltf["skins"][0]["joints"]] == [
        "global", "neck", "jaw", "eye_left", "eye_right"]
    acc = gltf["accessors"][prim["attributes"]["POSITION"]]
    view = gltf["bufferViews"][acc["bufferView"]]
    pos = np.frombuffer(blob, "<f4", acc["count"] * 3, view["byteOffset"]).reshape(-1, 3)
    np.testing.assert_array_equal(pos, job.baked.v_shaped)
    header, arrays = read_package(tmp_path / "pkg")
    np.testing.assert_array_equal(arrays["blend"], job.baked.blend)
    np.testing.assert_array_equal(arrays["expr_dirs"], job.baked.expr_dirs.transpose(2, 0, 1))
    assert header["gaussians"] == job.baked.n and header["coefficients"] == job.baked.coeff_names


def test_browser_evaluator_matches_torch(prior, bundle: Path, tmp_path: Path,
                                         web_built: Path) -> None:
    """The viewer's JS evaluation of a frame (skinning + blendshapes + placement) equals
    headforge's torch evaluation of the same baked avatar."""
    seq = jaw_sequence(tmp_path / "driver", n=3)
    job = prepare(bundle, prior, seq)
    for k, v in job.sequence.items():  # a posed head, not only the jaw
        if k in ("rotation", "neck_pose", "eyes_pose", "expr"):
            job.sequence[k] = v + 0.1 * torch.randn(v.shape, generator=torch.Generator().manual_seed(3))
    FORMATS["gltf"].write(job, tmp_path / "pkg")
    r = subprocess.run([node(), str(ROOT / "web" / "evaluate.mjs"), str(tmp_path / "pkg"), "2"],
                       capture_output=True, text=True, check=True)
    js = {k: np.asarray(v, np.float64) for k, v in json.loads(r.stdout).items()}
    p = job.frame(2)
    g = baked_gaussians(job.baked, p)
    from headforge.export.bake import head_vertices

    np.testing.assert_allclose(js["vertices"].reshape(-1, 3), head_vertices(job.baked, p)[0].numpy(),
                               atol=2e-6)
    np.testing.assert_allclose(js["means"].reshape(-1, 3), g.means[0].numpy(), atol=2e-6)
    np.testing.assert_allclose(js["scales"].reshape(-1, 3), g.scales[0].numpy(), rtol=1e-4,
                               atol=1e-7)
    np.testing.assert_allclose(js["opacity"], g.opacities[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(js["rgb"].reshape(-1, 3), g.colors[0].numpy(), atol=1e-5)
    dots = np.abs((js["quats"].reshape(-1, 4) * g.quats[0].numpy()).sum(-1))
    assert dots.min() > 1 - 1e-5


def test_export_command_writes_and_reports(bundle: Path, prior_ckpt: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from headforge.cli import app

    out = tmp_path / "ply"
    r = CliRunner().invoke(app, ["export", str(bundle), "--format", "ply", "--out", str(out),
                                 "--prior", str(prior_ckpt)])
    assert r.exit_code == 0, r.output
    assert (out / "avatar.ply").is_file() and "dB PSNR" in r.output
    # any expression: a frame of a tracked sequence, the open jaw here
    seq = jaw_sequence(tmp_path / "driver", n=3)
    r = CliRunner().invoke(app, ["export", str(bundle), "--format", "ply", "--out",
                                 str(tmp_path / "open"), "--params", str(seq), "--frame", "2",
                                 "--prior", str(prior_ckpt)])
    assert r.exit_code == 0, r.output
    from headforge.splat.ply import read_ply

    closed, opened = read_ply(out / "avatar.ply"), read_ply(tmp_path / "open" / "avatar.ply")
    assert float((closed.means - opened.means).norm(dim=-1).max()) > 5e-3
    bad = CliRunner().invoke(app, ["export", str(bundle), "--format", "obj", "--out", str(out)])
    assert bad.exit_code != 0 and "formats are" in bad.output
    none = CliRunner().invoke(app, ["export", str(tmp_path), "--format", "ply", "--out", str(out)])
    assert none.exit_code != 0 and "not an avatar bundle" in none.output


def test_drive_exports_a_page_playing_the_tracked_sequence(bundle: Path, prior_ckpt: Path,
                                                           tmp_path: Path, web_built: Path
                                                           ) -> None:
    from typer.testing import CliRunner

    from headforge.invert.cli import app

    seq = jaw_sequence(tmp_path / "flame_params", n=4)
    out = tmp_path / "page"
    r = CliRunner().invoke(app, ["drive", str(bundle), "--params", str(seq), "--export", "web",
                                 "--out", str(out), "--prior", str(prior_ckpt), "--fps", "6"])
    assert r.exit_code == 0, r.output
    assert {"index.html", "viewer.js", "avatar.json", "avatar.bin"} <= {
        p.name for p in out.iterdir()}
    names, params, fps = read_animation(out / "animation.json")
    assert names == [f"{i:06d}" for i in range(4)] and fps == 6.0
    assert params["jaw_pose"][:, 0].tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3])
