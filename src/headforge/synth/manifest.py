"""``data/synth/manifest.parquet``: one row per rendered image.

Columns of the cross-stage contract (subject = identity id, sequence = expression name,
frame, camera, path, sha256, width, height, K (9 floats, row-major), w2c (16 floats, OpenCV),
split) plus ``mask_path``, ``seg_path``, their hashes, ``model_id`` and ``params_path`` (the
expression's FLAME parameters). Paths are relative to the project root. Rows are sorted and
written without pandas metadata, so the same images always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from headforge.io_utils import atomic_path, sha256_file
from headforge.manifest import SORT_KEYS, manifest_schema

SCHEMA = manifest_schema([
    ("seg_path", pa.string()),
    ("seg_sha256", pa.string()),
    ("model_id", pa.string()),
    ("params_path", pa.string()),
])
COLUMNS = SCHEMA.names


def write_manifest(rows: Sequence[dict[str, Any]], path: Path) -> str:
    """Atomically write ``rows`` (sorted) to ``path``; returns the file's sha256."""
    missing = [c for c in COLUMNS if rows and c not in rows[0]]
    if missing:
        raise ValueError(f"manifest rows lack columns {missing}")
    ordered = sorted(rows, key=lambda r: tuple(r[k] for k in SORT_KEYS))
    table = pa.Table.from_pylist([{c: r[c] for c in COLUMNS} for r in ordered], schema=SCHEMA)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=False)
    return sha256_file(path)


def read_manifest(path: Path) -> pd.DataFrame:
    """The manifest as a DataFrame (empty with the schema's columns when absent)."""
    table = pq.read_table(path) if Path(path).is_file() else SCHEMA.empty_table()
    return table.to_pandas()
