"""Wall-time records per stage, read by the report and ``benchmarks/pipeline.py``."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

from headforge.io_utils import write_text_atomic


@contextlib.contextmanager
def stage_timer(stage: str, out_dir: Path) -> Iterator[None]:
    """Time the block and write ``<out_dir>/timing.json`` when it succeeds."""
    t0 = time.perf_counter()
    yield
    seconds = time.perf_counter() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "timing.json", json.dumps({"stage": stage, "seconds": seconds}))
