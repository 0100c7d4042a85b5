"""The output checker on hand-made identity folders (no Blender needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from headforge.synth.jobs import PARAM_KEYS
from headforge.synth.rig import RigSpec, build_rig
from headforge.synth.validate import Expected, ValidationError, validate_identity

W = H = 32


def _make(root: Path) -> tuple[Path, Expected]:
    cams = build_rig(RigSpec(W, H), seed=0)[:2]
    folder = root / "data" / "synth" / "id_00007"
    yy, xx = np.mgrid[:H, :W]
    disk = (xx - 16) ** 2 + (yy - 16) ** 2 < 100
    alpha = np.where(disk, 255, 0).astype(np.uint8)
    seg = np.where(disk, 1, 0).astype(np.uint8)
    seg[disk & (yy < 12)] = 2
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[disk] = (200, 150, 120)
    for kind, img in (("rgb", rgb), ("mask", alpha), ("seg", seg)):
        for c in cams:
            p = folder / kind / "neutral" / f"{c.name}.png"
            p.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(p)
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(folder / "albedo.png")
    (folder / "params").mkdir()
    np.savez(folder / "params" / "neutral.npz", model_id=np.array("m1"),
             **{k: np.zeros((1, 3), np.float32) for k in PARAM_KEYS})
    (folder / "cameras.json").write_text(json.dumps({
        "width": W, "height": H, "convention": "opencv",
        "cameras": {c.name: {"K": c.K.tolist(), "w2c": c.w2c.tolist()} for c in cams}}))
    (folder / "identity.json").write_text("{}")
    exp = Expected("id_00007", ["neutral"],
                   [{"name": c.name, "K": c.K, "w2c": c.w2c} for c in cams], W, H, "m1", "train")
    return folder, exp


def test_a_complete_folder_gives_one_row_per_image(tmp_path) -> None:
    folder, exp = _make(tmp_path)
    rows = validate_identity(folder, exp, tmp_path)
    assert len(rows) == 2 and rows[0]["path"] == "data/synth/id_00007/rgb/neutral/front_00.png"
    assert rows[0]["params_path"] == "data/synth/id_00007/params/neutral.npz"
    assert len(rows[0]["K"]) == 9 and rows[0]["split"] == "train"


@pytest.mark.parametrize("damage, message", [
    ("label_outside", "empty pixels carry a part label"),
    ("hole", "opaque pixels have no part label"),
    ("empty_mask", "empty foreground mask"),
    ("camera", "differs from the plan"),
    ("missing", "is missing"),
    ("size", r"is L \(33, 32\), expected L \(32, 32\)"),
    ("params", "keys \\['expr'"),
    ("unfinished", "identity.json missing"),
])
def test_damaged_folders_are_rejected_with_the_file_named(tmp_path, damage, message) -> None:
    folder, exp = _make(tmp_path)
    seg_path = folder / "seg" / "neutral" / "front_00.png"
    mask_path = folder / "mask" / "neutral" / "front_00.png"
    if damage == "label_outside":
        seg = np.asarray(Image.open(seg_path)).copy()
        seg[:, :3] = 6
        Image.fromarray(seg).save(seg_path)
    elif damage == "hole":
        seg = np.asarray(Image.open(seg_path)).copy()
        seg[10:22, 10:22] = 0
        Image.fromarray(seg).save(seg_path)
    elif damage == "empty_mask":
        Image.fromarray(np.zeros((H, W), np.uint8)).save(mask_path)
    elif damage == "camera":
        cams = json.loads((folder / "cameras.json").read_text())
        cams["cameras"]["front_01"]["w2c"][0][3] += 0.01
        (folder / "cameras.json").write_text(json.dumps(cams))
    elif damage == "missing":
        seg_path.unlink()
    elif damage == "size":
        Image.fromarray(np.zeros((H, W + 1), np.uint8)).save(mask_path)
    elif damage == "params":
        np.savez(folder / "params" / "neutral.npz", model_id=np.array("m1"),
                 shape=np.zeros(3))
    elif damage == "unfinished":
        (folder / "identity.json").unlink()
    with pytest.raises(ValidationError, match=message):
        validate_identity(folder, exp, tmp_path)
