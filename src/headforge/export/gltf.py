"""The baked head mesh as a skinned glTF 2.0 binary (``.glb``), written with numpy + struct.

One skinned mesh in the bind pose (the avatar's identity shape, neutral expression) with one
morph target per expression coefficient, and a five-joint skeleton (global, neck, jaw, left
eye, right eye) at the neutral-expression joint locations. With a sequence, a glTF animation
drives the joints' rotations, the root's translation and the morph weights per frame.

What glTF cannot hold, and the Gaussian package does: FLAME's pose-corrective blend shapes
(non-linear in the pose) and the joints' dependence on the expression; both are small.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from headforge.export.bake import BakedAvatar
from headforge.export.package import JOINTS
from headforge.io_utils import atomic_path

_FLOAT, _UINT, _USHORT = 5126, 5125, 5123
_ARRAY, _ELEMENTS = 34962, 34963


class _Builder:
    """Accumulates buffer views and accessors of one binary buffer."""

    def __init__(self) -> None:
        self.blob = bytearray()
        self.views: list[dict[str, Any]] = []
        self.accessors: list[dict[str, Any]] = []

    def add(self, a: np.ndarray, kind: str, ctype: int, target: int | None = None,
            minmax: bool = False) -> int:
        raw = np.ascontiguousarray(a).tobytes()
        while len(self.blob) % 4:
            self.blob.append(0)
        view: dict[str, Any] = {"buffer": 0, "byteOffset": len(self.blob), "byteLength": len(raw)}
        if target is not None:
            view["target"] = target
        self.blob.extend(raw)
        self.views.append(view)
        acc: dict[str, Any] = {"bufferView": len(self.views) - 1, "componentType": ctype,
                               "count": int(a.shape[0]), "type": kind}
        if minmax:
            flat = a.reshape(a.shape[0], -1)
            acc["min"] = [float(x) for x in flat.min(0)]
            acc["max"] = [float(x) for x in flat.max(0)]
        self.accessors.append(acc)
        return len(self.accessors) - 1


def _axis_angle_to_quat_xyzw(aa: np.ndarray) -> np.ndarray:
    """[..., 3] axis-angle -> [..., 4] unit quaternions (x, y, z, w), glTF order."""
    t = np.linalg.norm(aa, axis=-1, keepdims=True)
    half = 0.5 * t
    k = np.where(t > 1e-12, np.sin(half) / np.maximum(t, 1e-12), 0.5)
    return np.concatenate([aa * k, np.cos(half)], axis=-1).astype(np.float32)


def skin_weights(weights: np.ndarray, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest skinning weights per vertex, renormalised: (joints u16, weights)."""
    idx = np.argsort(-weights, axis=1)[:, :k]
    w = np.take_along_axis(weights, idx, axis=1).astype(np.float64)
    w = np.clip(w, 0.0, None)
    w /= np.maximum(w.sum(1, keepdims=True), 1e-12)
    idx = np.where(w > 0, idx, 0)  # unused influences point at joint 0 (glTF validator)
    return idx.astype(np.uint16), w.astype(np.float32)


def write_glb(baked: BakedAvatar, path: Path,
              sequence: tuple[Mapping[str, Tensor], float] | None = None) -> Path:
    """Write the skinned, morphable head of ``baked`` (and an animation of ``sequence``:
    parameters [T, D] and frames per second) as a ``.glb`` (atomically)."""
    b = _Builder()
    v = baked.v_shaped.astype(np.float32)
    pos = b.add(v, "VEC3", _FLOAT, _ARRAY, minmax=True)
    idx = b.add(baked.faces.astype(np.uint32).reshape(-1), "SCALAR", _UINT, _ELEMENTS)
    jt, wt = skin_weights(baked.weights)
    joints = b.add(jt, "VEC4", _USHORT, _ARRAY)
    weights = b.add(wt, "VEC4", _FLOAT, _ARRAY)
    names = [f"expr_{i}" for i in range(baked.n_expr)]
    targets = [{"POSITION": b.add(np.ascontiguousarray(baked.expr_dirs[:, :, i], np.float32),
                                  "VEC3", _FLOAT, _ARRAY, minmax=True)}
               for i in range(baked.n_expr)]
    rest = (baked.j_regressor.astype(np.float64) @ baked.v_shaped.astype(np.float64))  # [J,3]
    parents = baked.parents.astype(int)
    ibm = np.tile(np.eye(4, dtype=np.float32), (len(rest), 1, 1))
    ibm[:, :3, 3] = -rest
    ibm_acc = b.add(ibm.transpose(0, 2, 1).reshape(len(rest), 16), "MAT4", _FLOAT)
    nodes: list[dict[str, Any]] = [{"name": "head", "mesh": 0, "skin": 0}]
    for j, name in enumerate(JOINTS[:len(rest)]):
        local = rest[j] - (rest[parents[j]] if parents[j] >= 0 else 0.0)
        nodes.append({"name": name, "translation": [float(x) for x in local]})
    for j, p in enumerate(parents):
        if p >= 0:
            nodes[1 + p].setdefault("children", []).append(1 + j)
    gltf: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "headforge export"},
        "scene": 0,
        "scenes": [{"nodes": [0, 1]}],
        "nodes": nodes,
        "meshes": [{"name": "head", "weights": [0.0] * len(targets),
                    "extras": {"targetNames": names},
                    "primitives": [{"attributes": {"POSITION": pos, "JOINTS_0": joints,
                                                   "WEIGHTS_0": weights},
                                    "indices": idx, "mode": 4, "targets": targets}]}],
        "skins": [{"name": "flame", "joints": list(range(1, 1 + len(rest))),
                   "inverseBindMatrices": ibm_acc, "skeleton": 1}],
    }
    if sequence is not None:
        gltf["animations"] = [_animation(b, sequence[0], sequence[1], rest, baked.n_expr)]
    gltf.update({"buffers": [{"byteLength": len(b.blob)}], "bufferViews": b.views,
                 "accessors": b.accessors})
    return _write(path, gltf, bytes(b.blob))


def _animation(b: _Builder, params: Mapping[str, Tensor], fps: float, rest: np.ndarray,
               n_expr: int) -> dict[str, Any]:
    t = int(params["expr"].shape[0])
    times = b.add((np.arange(t, dtype=np.float32) / float(fps)), "SCALAR", _FLOAT, minmax=True)
    samplers: list[dict[str, Any]] = []
    channels: list[dict[str, Any]] = []

    def channel(node: int, path: str, values: np.ndarray, kind: str) -> None:
        samplers.append({"input": times, "output": b.add(values, kind, _FLOAT),
                         "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": node, "path": path}})

    def p(k: str) -> np.ndarray:
        return params[k].detach().cpu().numpy().astype(np.float64)

    eyes = p("eyes_pose")
    for j, aa in enumerate([p("rotation"), p("neck_pose"), p("jaw_pose"), eyes[:, :3],
                            eyes[:, 3:]]):
        channel(1 + j, "rotation", _axis_angle_to_quat_xyzw(aa), "VEC4")
    channel(1, "translation", (rest[0][None] + p("translation")).astype(np.float32), "VEC3")
    expr = np.zeros((t, n_expr), np.float32)
    e = p("expr")[:, :n_expr]
    expr[:, :e.shape[1]] = e
    channel(0, "weights", expr.reshape(-1), "SCALAR")
    return {"name": "tracked", "samplers": samplers, "channels": channels}


def _write(path: Path, gltf: dict[str, Any], blob: bytes) -> Path:
    js = json.dumps(gltf, separators=(",", ":")).encode()
    js += b" " * (-len(js) % 4)
    blob += b"\0" * (-len(blob) % 4)
    total = 12 + 8 + len(js) + 8 + len(blob)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(struct.pack("<4sII", b"glTF", 2, total))
        f.write(struct.pack("<I4s", len(js), b"JSON") + js)
        f.write(struct.pack("<I4s", len(blob), b"BIN\0") + blob)
    return Path(path)


def read_glb(path: Path) -> tuple[dict[str, Any], bytes]:
    """(JSON, binary chunk) of a ``.glb``."""
    data = Path(path).read_bytes()
    magic, version, total = struct.unpack_from("<4sII", data, 0)
    if magic != b"glTF" or version != 2 or total != len(data):
        raise ValueError(f"{path} is not a glTF 2.0 binary")
    n, kind = struct.unpack_from("<I4s", data, 12)
    js = json.loads(data[20:20 + n])
    m, kind2 = struct.unpack_from("<I4s", data, 20 + n)
    if kind != b"JSON" or kind2 != b"BIN\0":
        raise ValueError(f"{path}: unexpected chunk types {kind!r}, {kind2!r}")
    return js, data[28 + n:28 + n + m]
