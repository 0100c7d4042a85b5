"""The ingest Prefect flow: per-subject tasks, all-or-nothing by default, skip_failed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from capture_builders import data_files, grant, write_png

from headforge.ingest import read_manifest
from headforge.privacy import Registry


def test_ingest_flow(
    astronaut: np.ndarray, realdata: Path, root: Path, registry: Registry
) -> None:
    from prefect.testing.utilities import prefect_test_harness

    from flows.ingest import ingest

    write_png(root / "inbox" / "flow-s01" / "a.png", astronaut)
    (root / "inbox" / "flow-s02").mkdir()
    shutil.copy(realdata / "liveportrait_d18.mp4", root / "inbox" / "flow-s02" / "d18.mp4")
    write_png(root / "inbox" / "flow-s03" / "c.png", astronaut[:, ::-1])
    grant(registry, "flow-s01")
    grant(registry, "flow-s02")
    registry.add_subject("flow-s03")  # no consent
    with prefect_test_harness(server_startup_timeout=60):
        with pytest.raises(RuntimeError, match=r"ingest failed for \['flow-s03'\]"):
            ingest(root=root)
        assert data_files(root) == {}
        summary = ingest(root=root, skip_failed=True)
    assert summary["subjects"] == ["flow-s01", "flow-s02"]
    assert "no valid 'capture' consent" in summary["failed"]["flow-s03"]
    df = read_manifest()
    assert sorted(set(df.subject)) == ["flow-s01", "flow-s02"]
    assert summary["rows"] == len(df) == 1 + 4
    assert not (root / "data" / "captures" / "flow-s03").exists()
    timing = json.loads((root / "results" / "timings" / "ingest.json").read_text())
    assert timing["stage"] == "ingest" and timing["seconds"] > 0
