"""The baked avatar as binary buffers with a JSON header, and animations as JSON.

``avatar.json`` describes ``avatar.bin``: every array's dtype, shape and byte range (little
endian, 4-byte aligned, C order), the channel layout of the Gaussians, the coefficient names,
the joints and a default camera. ``animation.json`` holds a tracked sequence's FLAME-format
parameters per frame. The layout is documented in ``docs/export.md``; the web viewer reads
exactly these files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from headforge.export.bake import CHANNELS, BakedAvatar
from headforge.io_utils import atomic_path

FORMAT = "headforge-avatar"
VERSION = 1
JOINTS = ("global", "neck", "jaw", "eye_left", "eye_right")
ANIMATION_KEYS = ("expr", "rotation", "neck_pose", "jaw_pose", "eyes_pose", "translation")


@dataclass(frozen=True)
class ViewCamera:
    """A pinhole camera: intrinsics [3, 3] and world-to-camera [4, 4] (OpenCV), pixels."""

    K: np.ndarray
    w2c: np.ndarray
    width: int
    height: int

    def scaled(self, width: int, height: int) -> ViewCamera:
        """The same view at another resolution."""
        K = self.K.astype(np.float64).copy()
        K[0] *= width / self.width
        K[1] *= height / self.height
        return ViewCamera(K, self.w2c, width, height)

    def tensors(self) -> tuple[Tensor, Tensor]:
        """K [1, 3, 3], w2c [1, 4, 4] float tensors."""
        return (torch.from_numpy(np.asarray(self.K, np.float32))[None],
                torch.from_numpy(np.asarray(self.w2c, np.float32))[None])

    def to_json(self) -> dict[str, Any]:
        return {"K": np.asarray(self.K, float).tolist(), "w2c": np.asarray(self.w2c, float).tolist(),
                "width": self.width, "height": self.height}


def package_arrays(baked: BakedAvatar) -> dict[str, np.ndarray]:
    """The arrays of ``avatar.bin``, laid out for a per-frame evaluator (coefficient-major)."""
    return {
        "faces": baked.faces.astype("<u4"),
        "v_shaped": baked.v_shaped,
        "expr_dirs": np.ascontiguousarray(baked.expr_dirs.transpose(2, 0, 1)),  # [E_x, V, 3]
        "pose_dirs": np.ascontiguousarray(baked.pose_dirs.transpose(2, 0, 1)),  # [P, V, 3]
        "j_regressor": baked.j_regressor,
        "parents": baked.parents.astype("<i4"),
        "weights": baked.weights,
        "face_index": baked.face_index.astype("<u4"),
        "bary": baked.bary,
        "base": baked.base,
        "blend": baked.blend,
    }


def write_package(baked: BakedAvatar, out: Path, camera: ViewCamera,
                  extra: Mapping[str, Any] | None = None) -> list[Path]:
    """Write ``avatar.json`` + ``avatar.bin`` into ``out``; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    arrays = package_arrays(baked)
    header: dict[str, Any] = {"format": FORMAT, "version": VERSION, "buffer": "avatar.bin",
                              "arrays": {}}
    chunks, offset = [], 0
    for name, a in arrays.items():
        a = np.ascontiguousarray(a)
        if a.dtype.kind == "f":
            a = a.astype("<f4")
        raw = a.tobytes()
        header["arrays"][name] = {"dtype": a.dtype.name, "shape": list(a.shape),
                                  "byteOffset": offset, "byteLength": len(raw)}
        chunks.append(raw)
        offset += len(raw)  # every dtype is 4 bytes wide: offsets stay aligned
    sizes = [3, 4, 3, 1, baked.color_channels]
    start = np.cumsum([0, *sizes[:-1]])
    header.update({
        "gaussians": baked.n,
        "channels": [{"name": n, "start": int(s), "size": z}
                     for n, s, z in zip(CHANNELS, start, sizes, strict=True)],
        "sh_degree": baked.sh_degree,
        "coefficients": baked.coeff_names,
        "joints": list(JOINTS),
        "camera": camera.to_json(),
        "bake": baked.info,
        **(dict(extra) if extra else {}),
    })
    bin_path, json_path = out / "avatar.bin", out / "avatar.json"
    with atomic_path(bin_path) as tmp, open(tmp, "wb") as f:
        for c in chunks:
            f.write(c)
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(header, indent=1))
    return [json_path, bin_path]


def read_package(folder: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(header, arrays) of a package written by :func:`write_package`."""
    header = json.loads((folder / "avatar.json").read_text())
    if header.get("format") != FORMAT:
        raise ValueError(f"{folder / 'avatar.json'} is not a {FORMAT} header")
    data = (folder / header["buffer"]).read_bytes()
    arrays = {}
    for name, a in header["arrays"].items():
        arrays[name] = np.frombuffer(data, dtype=np.dtype(a["dtype"]).newbyteorder("<"),
                                     count=int(np.prod(a["shape"])),
                                     offset=a["byteOffset"]).reshape(a["shape"])
    return header, arrays


def write_animation(path: Path, names: Sequence[str], params: Mapping[str, Tensor],
                    fps: float) -> Path:
    """A sequence's parameters ([T, D] each) as ``animation.json`` (atomically)."""
    t = int(params["expr"].shape[0])
    if len(names) != t:
        raise ValueError(f"{len(names)} frame names for {t} frames")
    body = {"fps": float(fps), "frames": t, "names": list(names),
            "params": {k: np.round(params[k].detach().cpu().numpy().astype(np.float64), 6
                                   ).tolist() for k in ANIMATION_KEYS}}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(body))
    return path


def read_animation(path: Path) -> tuple[list[str], dict[str, Tensor], float]:
    """(names, params [T, D] each, fps) of an ``animation.json``."""
    body = json.loads(Path(path).read_text())
    return (body["names"], {k: torch.tensor(v, dtype=torch.float32)
                            for k, v in body["params"].items()}, float(body["fps"]))
