"""Wall-time records per stage, read by the report and ``benchmarks/pipeline.py``.

Timings live in ``results/timings/<stage>.json``, outside every stage's DVC outputs, so that a
rerun that reproduces identical outputs does not change their hashes and rerun what follows.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

from headforge.io_utils import write_text_atomic


def timings_dir(root: Path) -> Path:
    """Folder of the per-stage timing records."""
    return root / "results" / "timings"


@contextlib.contextmanager
def stage_timer(stage: str, root: Path) -> Iterator[None]:
    """Time the block and write ``results/timings/<stage>.json`` when it succeeds."""
    t0 = time.perf_counter()
    yield
    seconds = time.perf_counter() - t0
    write_text_atomic(
        timings_dir(root) / f"{stage}.json", json.dumps({"stage": stage, "seconds": seconds})
    )


def read_timings(root: Path) -> dict[str, float]:
    """stage -> seconds of its last successful run."""
    out: dict[str, float] = {}
    for t in sorted(timings_dir(root).glob("*.json")):
        try:
            d = json.loads(t.read_text())
            out[str(d.get("stage", t.stem))] = float(d["seconds"])
        except (ValueError, KeyError, TypeError):
            continue
    return out
