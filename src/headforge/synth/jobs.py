"""Shard job files: what the host hands to one Blender render process.

A job is two files side by side, ``<shard>.json`` and ``<shard>.npz``:

``<shard>.json``
    ``format`` (``headforge-synth-job/1``), ``shard``, ``arrays`` (npz file name, relative),
    ``out_dir`` (where finished identity folders go), ``staging_dir`` (where they are built),
    ``render`` {width, height, samples, threads}, ``model_id``, ``part_names`` (head-model
    parts, indexed by ``part_labels``), ``categories`` (segmentation id per category),
    ``part_categories`` (head part -> category), ``cameras`` [{name, K 3x3, w2c 4x4}] and
    ``identities`` [{id, seed, expressions, hair, beard, lighting, materials, tags}].
``<shard>.npz``
    ``faces`` [F, 3], ``uvs`` [T, 2], ``uv_faces`` [F, 3], ``part_labels`` [V] and per identity
    ``<id>/vertices`` [E, V, 3] float32 (posed head per expression), ``<id>/albedo`` [R, R, 3]
    uint8 and ``<id>/params/<key>`` for the FLAME keys (``shape`` [n_shape], the others
    [E, d]).

The Blender side reads it with ``blender/job.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from headforge.io_utils import atomic_path, write_text_atomic

JOB_FORMAT = "headforge-synth-job/1"
PARAM_KEYS = ("shape", "expr", "rotation", "neck_pose", "jaw_pose", "eyes_pose", "translation")

CATEGORIES: dict[str, int] = {
    "background": 0, "face": 1, "hair": 2, "beard": 3, "eyes": 4, "mouth": 5, "neck": 6, "ears": 7,
}
"""Segmentation ids. ``face`` is all head skin (face and scalp); ``neck`` includes the
shoulder stub."""

PART_CATEGORY: dict[str, str] = {
    "face": "face", "scalp": "face", "neck": "neck", "eyes": "eyes", "mouth": "mouth",
    "ears": "ears",
}
"""Head-model part -> segmentation category (parts not listed become ``face``)."""


@dataclass(frozen=True)
class IdentityJob:
    """One identity's share of a job."""

    id: str
    seed: int
    expressions: list[str]
    vertices: np.ndarray  # [E, V, 3] float32
    albedo: np.ndarray  # [R, R, 3] uint8
    params: dict[str, np.ndarray]  # FLAME keys: shape [n_shape], others [E, d]
    hair: dict[str, Any]
    beard: dict[str, Any]
    lighting: dict[str, Any]
    materials: dict[str, Any]
    tags: dict[str, str]


@dataclass(frozen=True)
class ShardJob:
    """Everything one render process needs."""

    shard: str
    out_dir: Path
    staging_dir: Path
    width: int
    height: int
    samples: int
    threads: int
    model_id: str
    part_names: tuple[str, ...]
    faces: np.ndarray  # [F, 3]
    uvs: np.ndarray  # [T, 2]
    uv_faces: np.ndarray  # [F, 3]
    part_labels: np.ndarray  # [V]
    cameras: list[dict[str, Any]]  # {name, K [3][3], w2c [4][4]}
    identities: list[IdentityJob]


def job_record(job: ShardJob, arrays_name: str) -> dict[str, Any]:
    """The JSON half of a job."""
    return {
        "format": JOB_FORMAT,
        "shard": job.shard,
        "arrays": arrays_name,
        "out_dir": str(job.out_dir),
        "staging_dir": str(job.staging_dir),
        "render": {"width": job.width, "height": job.height, "samples": job.samples,
                   "threads": job.threads},
        "model_id": job.model_id,
        "part_names": list(job.part_names),
        "categories": CATEGORIES,
        "part_categories": {p: PART_CATEGORY.get(p, "face") for p in job.part_names},
        "cameras": job.cameras,
        "identities": [
            {"id": i.id, "seed": i.seed, "expressions": i.expressions, "hair": i.hair,
             "beard": i.beard, "lighting": i.lighting, "materials": i.materials, "tags": i.tags}
            for i in job.identities
        ],
    }


def write_job(job: ShardJob, folder: Path) -> Path:
    """Write ``<folder>/<shard>.json`` and ``.npz`` atomically; returns the JSON path."""
    arrays: dict[str, np.ndarray] = {
        "faces": np.asarray(job.faces, dtype=np.int32),
        "uvs": np.asarray(job.uvs, dtype=np.float32),
        "uv_faces": np.asarray(job.uv_faces, dtype=np.int32),
        "part_labels": np.asarray(job.part_labels, dtype=np.int16),
    }
    for ident in job.identities:
        arrays[f"{ident.id}/vertices"] = np.asarray(ident.vertices, dtype=np.float32)
        arrays[f"{ident.id}/albedo"] = np.asarray(ident.albedo, dtype=np.uint8)
        for key in PARAM_KEYS:
            arrays[f"{ident.id}/params/{key}"] = np.asarray(ident.params[key], dtype=np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    npz = folder / f"{job.shard}.npz"
    with atomic_path(npz) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
    path = folder / f"{job.shard}.json"
    write_text_atomic(path, json.dumps(job_record(job, npz.name), indent=1))
    return path
