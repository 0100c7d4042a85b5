"""Check a rendered identity folder and turn it into manifest rows.

Every image must decode at the planned size; every mask must be non-empty; the union of the
part segmentation must agree with the alpha mask (labels wherever the surface is opaque,
background wherever nothing was hit); cameras read back from Blender must equal the planned
ones (so the Blender <-> OpenCV conversion is right) with orthonormal rotations and the head
centre in front of the camera and inside the image.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from headforge.cameras import is_rotation
from headforge.io_utils import sha256_file
from headforge.synth.jobs import CATEGORIES, PARAM_KEYS
from headforge.synth.rig import HEAD_CENTER

MIN_OPAQUE_LABELLED = 0.98
"""Share of fully opaque pixels that must carry a part label."""
MIN_EMPTY_UNLABELLED = 0.98
"""Share of fully transparent pixels that must be background in the segmentation."""


class ValidationError(ValueError):
    """A rendered identity is incomplete or inconsistent; the message names the file."""


@dataclass(frozen=True)
class Expected:
    """What the planner asked for one identity."""

    id: str
    expressions: list[str]
    cameras: list[dict[str, Any]]  # {name, K, w2c}
    width: int
    height: int
    model_id: str
    split: str
    head_center: tuple[float, float, float] = HEAD_CENTER


def _image(path: Path, mode: str, size: tuple[int, int]) -> np.ndarray:
    if not path.is_file():
        raise ValidationError(f"{path} is missing")
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode != mode or im.size != size:
                raise ValidationError(f"{path} is {im.mode} {im.size}, expected {mode} {size}")
            return np.asarray(im)
    except OSError as e:
        raise ValidationError(f"{path} does not decode as PNG ({e})") from e


def check_cameras(folder: Path, exp: Expected) -> dict[str, dict[str, np.ndarray]]:
    """Read ``cameras.json``; compare with the plan and sanity-check each camera."""
    path = folder / "cameras.json"
    if not path.is_file():
        raise ValidationError(f"{path} is missing")
    data = json.loads(path.read_text())
    if (data.get("width"), data.get("height")) != (exp.width, exp.height):
        raise ValidationError(f"{path}: image size {data.get('width')}x{data.get('height')} "
                              f"!= planned {exp.width}x{exp.height}")
    out = {}
    center = np.append(np.asarray(exp.head_center, dtype=np.float64), 1.0)
    for cam in exp.cameras:
        name = cam["name"]
        if name not in data["cameras"]:
            raise ValidationError(f"{path}: camera {name} missing")
        K = np.asarray(data["cameras"][name]["K"], dtype=np.float64)
        w2c = np.asarray(data["cameras"][name]["w2c"], dtype=np.float64)
        if not is_rotation(w2c[:3, :3]) or not np.allclose(w2c[3], [0, 0, 0, 1]):
            raise ValidationError(f"{path}: camera {name} w2c is not a rigid transform")
        if not np.allclose(K, cam["K"], atol=1e-4) or not np.allclose(w2c, cam["w2c"], atol=1e-5):
            raise ValidationError(f"{path}: camera {name} as rendered differs from the plan "
                                  "(Blender/OpenCV camera conversion is off)")
        pc = (w2c @ center)[:3]
        uv = (K @ pc)[:2] / pc[2] if pc[2] > 0 else np.array([-1.0, -1.0])
        if pc[2] <= 0 or not (0 <= uv[0] < exp.width and 0 <= uv[1] < exp.height):
            raise ValidationError(f"{path}: camera {name} does not see the head centre "
                                  f"(z={pc[2]:.3f}, pixel {uv.round(1).tolist()})")
        out[name] = {"K": K, "w2c": w2c}
    return out


def check_params(path: Path, model_id: str) -> None:
    """A per-expression FLAME parameter file with every key and the model id."""
    if not path.is_file():
        raise ValidationError(f"{path} is missing")
    with np.load(path, allow_pickle=False) as z:
        missing = [k for k in (*PARAM_KEYS, "model_id") if k not in z.files]
        if missing:
            raise ValidationError(f"{path}: keys {missing} missing")
        if str(z["model_id"]) != model_id:
            raise ValidationError(f"{path}: model_id {z['model_id']} != {model_id}")


def check_masks(rgb: np.ndarray, alpha: np.ndarray, seg: np.ndarray, where: str) -> None:
    """Alpha non-empty, segmentation union consistent with alpha, colour black outside."""
    if not (alpha > 0).any():
        raise ValidationError(f"{where}: empty foreground mask (the head is out of view)")
    bad = ~np.isin(seg, list(CATEGORIES.values()))
    if bad.any():
        raise ValidationError(f"{where}: segmentation ids {np.unique(seg[bad]).tolist()} "
                              f"are not categories {CATEGORIES}")
    opaque, empty = alpha == 255, alpha == 0
    if opaque.any() and (seg[opaque] > 0).mean() < MIN_OPAQUE_LABELLED:
        raise ValidationError(f"{where}: {(seg[opaque] == 0).mean():.1%} of opaque pixels "
                              "have no part label")
    if empty.any() and (seg[empty] == 0).mean() < MIN_EMPTY_UNLABELLED:
        raise ValidationError(f"{where}: {(seg[empty] > 0).mean():.1%} of empty pixels "
                              "carry a part label")
    if empty.any() and rgb[empty].max() > 0:
        raise ValidationError(f"{where}: colour outside the mask is not black")


def validate_identity(folder: Path, exp: Expected, root: Path) -> list[dict[str, Any]]:
    """Check one identity folder; returns its manifest rows (paths relative to ``root``)."""
    folder = Path(folder)
    if not (folder / "identity.json").is_file():
        raise ValidationError(f"{folder}: identity.json missing (the render did not finish)")
    _image(folder / "albedo.png", "RGB", _albedo_size(folder))
    cams = check_cameras(folder, exp)
    size = (exp.width, exp.height)
    rows = []
    for name in exp.expressions:
        params = folder / "params" / f"{name}.npz"
        check_params(params, exp.model_id)
        for cam in exp.cameras:
            c = cam["name"]
            paths = {k: folder / k / name / f"{c}.png" for k in ("rgb", "mask", "seg")}
            rgb = _image(paths["rgb"], "RGB", size)
            alpha = _image(paths["mask"], "L", size)
            seg = _image(paths["seg"], "L", size)
            check_masks(rgb, alpha, seg, f"{exp.id}/{name}/{c}")
            rel = {k: str(p.resolve().relative_to(root.resolve())) for k, p in paths.items()}
            rows.append({
                "subject": exp.id, "sequence": name, "frame": "0000", "camera": c,
                "path": rel["rgb"], "mask_path": rel["mask"], "seg_path": rel["seg"],
                "sha256": sha256_file(paths["rgb"]), "mask_sha256": sha256_file(paths["mask"]),
                "seg_sha256": sha256_file(paths["seg"]), "width": exp.width,
                "height": exp.height, "K": cams[c]["K"].reshape(-1).tolist(),
                "w2c": cams[c]["w2c"].reshape(-1).tolist(), "split": exp.split,
                "model_id": exp.model_id,
                "params_path": str(params.resolve().relative_to(root.resolve())),
            })
    return rows


def _albedo_size(folder: Path) -> tuple[int, int]:
    path = folder / "albedo.png"
    if not path.is_file():
        raise ValidationError(f"{path} is missing")
    with Image.open(path) as im:
        return im.size
