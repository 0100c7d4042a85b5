"""Blender renders end to end: 2 identities x 2 expressions x 28 cameras at 64x64.

Each shard is a real ``blender/render_shard.py`` process (pip bpy + BlenderProc, Cycles CPU).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from headforge.cameras import is_rotation
from headforge.config import SynthConfig
from headforge.synth import CATEGORIES, COLUMNS, build_dataset, read_manifest
from headforge.synth.jobs import PARAM_KEYS, write_job
from headforge.synth.plan import PlanContext, plan_shard
from headforge.synth.runner import run_shard

pytestmark = pytest.mark.blender

CFG = SynthConfig(identities=2, expressions=2, cameras=28, width=64, height=64, samples=4,
                  identities_per_shard=1, max_workers=2, threads_per_worker=1,
                  texture_size=128, shard_timeout_s=300)


def _build(root: Path, cfg: SynthConfig = CFG, **kw):
    return build_dataset(cfg, root, held_out=1, **kw)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth_a")
    summary = _build(root)
    return root, summary


def test_every_file_is_written(rendered) -> None:
    root, summary = rendered
    assert summary.failed == {} and summary.images == 2 * 2 * 28
    out = root / "data" / "synth"
    assert sorted(p.name for p in out.iterdir()) == ["id_00000", "id_00001", "manifest.parquet"]
    assert not (root / "data" / ".synth_work").exists(), "work folder removed after success"
    for ident in ("id_00000", "id_00001"):
        folder = out / ident
        meta = json.loads((folder / "identity.json").read_text())
        assert meta["expressions"][0] == "neutral" and len(meta["cameras"]) == 28
        with Image.open(folder / "albedo.png") as im:
            assert im.size == (128, 128)
        for expr in meta["expressions"]:
            with np.load(folder / "params" / f"{expr}.npz") as z:
                assert set(PARAM_KEYS) <= set(z.files)
                assert str(z["model_id"]) == "headforge-builtin-v1"
                assert z["expr"].shape[0] == 1 and z["shape"].ndim == 1
            for kind in ("rgb", "mask", "seg"):
                files = sorted((folder / kind / expr).glob("*.png"))
                assert len(files) == 28 and all(f.stat().st_size > 0 for f in files)


def test_masks_are_nonempty_and_segmentation_union_matches_alpha(rendered) -> None:
    root, _ = rendered
    df = read_manifest(root / "data" / "synth" / "manifest.parquet")
    seen = set()
    for row in df.itertuples():
        alpha = np.asarray(Image.open(root / row.mask_path))
        seg = np.asarray(Image.open(root / row.seg_path))
        assert (alpha > 0).sum() > 200, f"{row.path}: head too small or missing"
        union = seg > 0
        fg = alpha >= 128
        assert (union == fg).mean() > 0.97, row.path
        assert (union[alpha == 255]).all() or (union[alpha == 255]).mean() > 0.99
        seen |= set(np.unique(seg).tolist())
    assert {CATEGORIES[k] for k in ("background", "face", "eyes", "neck")} <= seen
    assert seen <= set(CATEGORIES.values())


def test_cameras_are_valid_and_see_the_head(rendered, head_model) -> None:
    root, _ = rendered
    folder = root / "data" / "synth" / "id_00000"
    cams = json.loads((folder / "cameras.json").read_text())
    assert cams["convention"] == "opencv" and len(cams["cameras"]) == 28
    with np.load(folder / "params" / "neutral.npz") as z:
        verts = head_model(shape=torch.as_tensor(z["shape"])[None]).vertices[0].numpy()
    center = verts.mean(0)
    for name, cam in cams["cameras"].items():
        K, w2c = np.asarray(cam["K"]), np.asarray(cam["w2c"])
        assert is_rotation(w2c[:3, :3]), name
        pc = w2c[:3, :3] @ center + w2c[:3, 3]
        uv = (K @ pc)[:2] / pc[2]
        assert pc[2] > 0 and (0 <= uv).all() and (uv < 64).all(), name
        # the projected mesh lands on the rendered silhouette (Blender <-> OpenCV is right)
        alpha = np.asarray(Image.open(folder / "mask" / "neutral" / f"{name}.png"))
        p = verts @ w2c[:3, :3].T + w2c[:3, 3]
        px = np.floor((p @ K.T)[:, :2] / p[:, 2:]).astype(int)
        inside = (px >= 0).all(1) & (px < 64).all(1)
        hit = alpha[px[inside, 1], px[inside, 0]] > 0
        assert hit.mean() > 0.97, f"{name}: {hit.mean():.2%} of head vertices on the mask"


def test_manifest_schema(rendered) -> None:
    root, _ = rendered
    df = read_manifest(root / "data" / "synth" / "manifest.parquet")
    assert list(df.columns) == COLUMNS and len(df) == 112
    assert set(df["split"]) == {"train", "test"}
    assert (df.groupby("subject")["split"].nunique() == 1).all()
    row = df.iloc[0]
    assert len(row["K"]) == 9 and len(row["w2c"]) == 16
    assert row["width"] == 64 and row["height"] == 64 and row["frame"] == "0000"
    assert not Path(row["path"]).is_absolute() and row["path"].startswith("data/synth/")
    assert df[["subject", "sequence", "camera"]].drop_duplicates().shape[0] == len(df)
    from headforge.io_utils import sha256_file

    assert sha256_file(root / row["path"]) == row["sha256"]


def test_same_seed_gives_identical_hashes(rendered, tmp_path) -> None:
    root, first = rendered
    again = _build(tmp_path)
    assert again.manifest_sha256 == first.manifest_sha256
    a = read_manifest(root / "data" / "synth" / "manifest.parquet")
    b = read_manifest(tmp_path / "data" / "synth" / "manifest.parquet")
    cols = ["sha256", "mask_sha256", "seg_sha256"]
    pd.testing.assert_frame_equal(a[cols], b[cols])


def test_a_broken_asset_fails_only_its_shard_and_leaves_no_partial_files(
        tmp_path, monkeypatch) -> None:
    original = PlanContext.identity

    def broken(self, index):
        spec = original(self, index)
        if index == 1:  # second identity of the first shard: a hair asset that does not exist
            return dataclasses.replace(spec, hair={**spec.hair, "style": "dreadlocks"})
        return spec

    monkeypatch.setattr(PlanContext, "identity", broken)
    cfg = dataclasses.replace(CFG, identities=4, identities_per_shard=2, expressions=1,
                              cameras=4, width=32, height=32)
    summary = _build(tmp_path, cfg, raise_on_failure=False)
    assert list(summary.failed) == ["shard_0000"]
    msg = summary.failed["shard_0000"]
    assert "identity id_00001" in msg and "hair style 'dreadlocks' is not one of" in msg
    out = tmp_path / "data" / "synth"
    assert sorted(p.name for p in out.glob("id_*")) == ["id_00000", "id_00002", "id_00003"]
    df = read_manifest(out / "manifest.parquet")
    assert sorted(df["subject"].unique()) == ["id_00000", "id_00002", "id_00003"]
    staging = tmp_path / "data" / ".synth_work" / "staging"
    assert not staging.exists() or not any(staging.rglob("*.png")), "no partial renders left"
    with pytest.raises(Exception, match="1 of 2 shards failed"):
        _build(tmp_path, cfg)


def test_a_hung_render_process_is_killed_and_cleaned_up(tmp_path, head_model, part_names) -> None:
    cfg = dataclasses.replace(CFG, identities=1, cameras=2, texture_size=64)
    ctx = PlanContext.create(cfg, head_model, part_names, tmp_path / "out", tmp_path / "work")
    job = plan_shard(ctx, 0)
    path = write_job(job, ctx.jobs_dir)
    (job.staging_dir / "id_00000").mkdir(parents=True)
    result = run_shard(path, timeout_s=0.5)
    assert not result.ok and "timed out after" in result.error
    assert not job.staging_dir.exists() and not (tmp_path / "out").exists()
    path.with_suffix(".npz").write_bytes(b"garbage")
    result = run_shard(path, timeout_s=120)
    assert result.returncode == 2 and "job arrays" in result.error and "unreadable" in result.error


def test_contact_sheet_and_cli_preview(rendered, tmp_path) -> None:
    from typer.testing import CliRunner

    from headforge.cli import app
    from headforge.synth.preview import SEG_COLORS

    root, _ = rendered
    out = tmp_path / "sheet.png"
    res = CliRunner().invoke(app, ["synth", "preview", "--data", str(root / "data" / "synth"),
                                   "--out", str(out), "--identities", "2", "--tile", "48"])
    assert res.exit_code == 0, res.output
    sheet = np.asarray(Image.open(out))
    assert sheet.shape == (18 + 2 * 48, 9 * 48, 3)
    parts = sheet[18:, 7 * 48: 8 * 48].reshape(-1, 3)
    colours = {tuple(c) for c in parts.tolist()}
    assert SEG_COLORS["face"] in colours and SEG_COLORS["eyes"] in colours
