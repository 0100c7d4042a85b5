"""Read and check a shard job (``<shard>.json`` + ``<shard>.npz``) inside the Blender process.

The host writes jobs with ``headforge.synth.jobs`` (which documents the format); this side
only reads them, with numpy and json, and turns every inconsistency into :class:`JobError`
naming the identity and the array at fault.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

JOB_FORMAT = "headforge-synth-job/1"
PARAM_KEYS = ("shape", "expr", "rotation", "neck_pose", "jaw_pose", "eyes_pose", "translation")


class JobError(ValueError):
    """The job file or one of its identities is unusable; the message says which and why."""


@dataclass(frozen=True)
class Camera:
    name: str
    K: np.ndarray  # [3, 3]
    w2c: np.ndarray  # [4, 4] OpenCV world-to-camera


@dataclass(frozen=True)
class Identity:
    id: str
    seed: int
    expressions: list[str]
    hair: dict[str, Any]
    beard: dict[str, Any]
    lighting: dict[str, Any]
    materials: dict[str, Any]
    vertices: np.ndarray  # [E, V, 3] float32
    albedo: np.ndarray  # [R, R, 3] uint8, row 0 = top of the UV square (v = 1)
    params: dict[str, np.ndarray]  # FLAME keys; shape [n_shape], others [E, d]
    spec: dict[str, Any]  # the identity's JSON record as written by the host


@dataclass(frozen=True)
class Job:
    path: Path
    shard: str
    out_dir: Path
    staging_dir: Path
    width: int
    height: int
    samples: int
    threads: int
    model_id: str
    categories: dict[str, int]
    part_names: tuple[str, ...]
    part_categories: dict[str, str]
    faces: np.ndarray  # [F, 3]
    uvs: np.ndarray  # [T, 2]
    uv_faces: np.ndarray  # [F, 3]
    part_labels: np.ndarray  # [V]
    cameras: list[Camera]
    identities: list[Identity]


def _need(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise JobError(f"{where}: key {key!r} missing; regenerate the job with the host planner")
    return d[key]


def _check_identity(ident: Identity, n_vertices: int) -> None:
    where = f"identity {ident.id}"
    e = len(ident.expressions)
    if ident.vertices.shape != (e, n_vertices, 3):
        raise JobError(f"{where}: vertices are {list(ident.vertices.shape)}, expected "
                       f"[{e}, {n_vertices}, 3] (one posed head per expression)")
    if not np.isfinite(ident.vertices).all():
        raise JobError(f"{where}: vertices contain NaN/inf; the head model produced a broken "
                       "mesh for these coefficients")
    a = ident.albedo
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] != a.shape[1] or a.dtype != np.uint8:
        raise JobError(f"{where}: albedo texture is {list(a.shape)} {a.dtype}, expected a square "
                       "[R, R, 3] uint8 image")
    for key in PARAM_KEYS:
        if key not in ident.params:
            raise JobError(f"{where}: FLAME parameter {key!r} missing from the job arrays")
        if key != "shape" and ident.params[key].shape[0] != e:
            raise JobError(f"{where}: parameter {key} has {ident.params[key].shape[0]} rows for "
                           f"{e} expressions")


def read_job(path: str | Path) -> Job:
    """Parse and validate a job; raises :class:`JobError` on any problem."""
    path = Path(path)
    try:
        meta = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise JobError(f"job {path} unreadable ({e}); re-plan the shard") from e
    if meta.get("format") != JOB_FORMAT:
        raise JobError(f"job {path}: format {meta.get('format')!r}, expected {JOB_FORMAT!r}")
    arrays_path = path.parent / _need(meta, "arrays", str(path))
    try:
        with np.load(arrays_path, allow_pickle=False) as z:
            arr = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise JobError(f"job arrays {arrays_path} unreadable ({e}); re-plan the shard") from e
    render = _need(meta, "render", str(path))

    def get(key: str) -> np.ndarray:
        if key not in arr:
            raise JobError(f"job arrays {arrays_path}: array {key!r} missing")
        return arr[key]

    faces, labels = get("faces").astype(np.int64), get("part_labels").astype(np.int64)
    n_vertices = len(labels)
    if faces.ndim != 2 or faces.shape[1] != 3 or faces.min() < 0 or faces.max() >= n_vertices:
        raise JobError(f"job arrays {arrays_path}: faces do not index the {n_vertices} vertices")
    cameras = [Camera(str(c["name"]), np.asarray(c["K"], dtype=np.float64),
                      np.asarray(c["w2c"], dtype=np.float64)) for c in _need(meta, "cameras", str(path))]
    identities = []
    for rec in _need(meta, "identities", str(path)):
        iid = str(_need(rec, "id", str(path)))
        params = {k: get(f"{iid}/params/{k}") for k in PARAM_KEYS}
        ident = Identity(
            id=iid, seed=int(rec["seed"]), expressions=[str(e) for e in rec["expressions"]],
            hair=dict(rec["hair"]), beard=dict(rec["beard"]), lighting=dict(rec["lighting"]),
            materials=dict(rec.get("materials", {})), vertices=get(f"{iid}/vertices"),
            albedo=get(f"{iid}/albedo"), params=params, spec=rec,
        )
        _check_identity(ident, n_vertices)
        identities.append(ident)
    return Job(
        path=path, shard=str(meta["shard"]), out_dir=Path(meta["out_dir"]),
        staging_dir=Path(meta["staging_dir"]), width=int(render["width"]),
        height=int(render["height"]), samples=int(render["samples"]),
        threads=int(render["threads"]), model_id=str(meta["model_id"]),
        categories={str(k): int(v) for k, v in meta["categories"].items()},
        part_names=tuple(meta["part_names"]),
        part_categories={str(k): str(v) for k, v in meta["part_categories"].items()},
        faces=faces, uvs=get("uvs").astype(np.float64), uv_faces=get("uv_faces").astype(np.int64),
        part_labels=labels, cameras=cameras, identities=identities,
    )
