"""The cross-stage manifest contract: one Parquet row per image.

Every stage that produces images (``synth``, ``ingest``) writes ``manifest.parquet`` with these
core columns, plus its own extras; readers (track, train_prior, invert) rely only on the core.
"""

from __future__ import annotations

import pyarrow as pa

MANIFEST_NAME = "manifest.parquet"
SORT_KEYS = ["subject", "sequence", "camera", "frame"]

CORE_FIELDS: list[tuple[str, pa.DataType]] = [
    ("subject", pa.string()),
    ("sequence", pa.string()),
    ("frame", pa.string()),
    ("camera", pa.string()),
    ("path", pa.string()),
    ("mask_path", pa.string()),
    ("sha256", pa.string()),
    ("mask_sha256", pa.string()),
    ("width", pa.int32()),
    ("height", pa.int32()),
    ("K", pa.list_(pa.float64(), 9)),
    ("w2c", pa.list_(pa.float64(), 16)),
    ("split", pa.string()),
]
"""subject, sequence, frame, camera; image and mask paths (relative to the project root) and
their sha256; size; K (3x3 row-major, pixels) and w2c (4x4 row-major, OpenCV); split."""


def manifest_schema(extra: list[tuple[str, pa.DataType]]) -> pa.Schema:
    """The core columns followed by a stage's own ``extra`` columns."""
    names = {n for n, _ in CORE_FIELDS}
    clash = [n for n, _ in extra if n in names]
    if clash:
        raise ValueError(f"extra manifest columns {clash} redefine core columns")
    return pa.schema(CORE_FIELDS + extra)
