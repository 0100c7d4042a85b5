"""The captures manifest: one Parquet row per normalised image, all subjects in one file.

Paths are relative to the project root. ``K`` holds the 9 entries of the 3x3 intrinsics of the
written image (row-major), ``w2c`` the 16 of the 4x4 world-to-camera (OpenCV). Rows are sorted
and written without pandas metadata, so the same rows always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from headforge.io_utils import atomic_path, sha256_file
from headforge.manifest import MANIFEST_NAME, SORT_KEYS, manifest_schema
from headforge.paths import data_dir

SCHEMA = manifest_schema(
    [
        ("camera_estimated", pa.bool_()),
        ("source_format", pa.string()),
        ("source", pa.string()),
        ("crop", pa.list_(pa.float64(), 3)),
        ("mask_source", pa.string()),
    ]
)
COLUMNS = SCHEMA.names
"""Manifest columns; ``mask_sha256``, ``source`` (input file, ``#index`` for video frames),
``crop`` (x0, y0, side in source pixels) and ``mask_source`` (given|selfie|grabcut) are extra
to the cross-stage contract."""


def manifest_path(root: Path | None = None) -> Path:
    """``data/captures/manifest.parquet`` below the project root."""
    return data_dir("captures", root) / MANIFEST_NAME


def read_manifest(path: Path | None = None) -> pd.DataFrame:
    """All rows (an empty frame with the manifest's columns when there is no manifest yet)."""
    path = path or manifest_path()
    table = pq.read_table(path) if path.is_file() else SCHEMA.empty_table()
    return table.to_pandas()


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k in COLUMNS:
        v = row[k]
        out[k] = [float(x) for x in np.asarray(v).ravel()] if k in ("K", "w2c", "crop") else v
    return out


def merge_rows(
    existing: pd.DataFrame, replace_subjects: Iterable[str], rows: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Existing rows minus those of ``replace_subjects``, plus ``rows``, sorted."""
    drop = set(replace_subjects)
    kept = [r for r in existing.to_dict("records") if r["subject"] not in drop]
    merged = [_clean(r) for r in kept] + [_clean(r) for r in rows]
    merged.sort(key=lambda r: tuple(r[k] for k in SORT_KEYS))
    return merged


def write_manifest(rows: Sequence[dict[str, Any]], path: Path | None = None) -> str:
    """Atomically (re)write the manifest with ``rows``; returns its sha256."""
    path = path or manifest_path()
    table = pa.Table.from_pylist([_clean(r) for r in rows], schema=SCHEMA)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=False)
    return sha256_file(path)


def update_manifest(
    replace_subjects: Iterable[str], rows: Sequence[dict[str, Any]], path: Path | None = None
) -> tuple[list[str], str]:
    """Replace the rows of ``replace_subjects`` by ``rows``; other subjects stay as they are.

    Returns (the subjects present in the manifest afterwards, its sha256).
    """
    path = path or manifest_path()
    merged = merge_rows(read_manifest(path), replace_subjects, rows)
    digest = write_manifest(merged, path)
    return sorted({r["subject"] for r in merged}), digest
