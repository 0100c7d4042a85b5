"""``python -m flows.track`` as a Prefect flow on a temporary project (real video frames)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headforge.privacy import Registry, Scope

from .conftest import make_captures


@pytest.mark.slow
def test_track_flow(tmp_path: Path, realdata: Path) -> None:
    from prefect.testing.utilities import prefect_test_harness

    from flows.track import track

    root = make_captures(tmp_path, realdata)
    (root / "params.yaml").write_text(
        "profile: tiny\ntrack:\n  steps_rigid: 30\n  steps_landmarks: 40\n  steps_dense: 0\n"
        "  overlays: 1\n  max_workers: 1\n"
    )
    with Registry.from_config(root) as reg:
        reg.grant("s0001", Scope.CAPTURE, "form:test/1")
    with prefect_test_harness():
        with pytest.raises(RuntimeError, match="s0404: subject has no frames"):
            track(subjects=["s0001", "s0404"], root=root)
        summary = track(root=root)
    assert summary["tracked"] == ["s0001"] and summary["failed"] == {}
    assert summary["status_counts"]["s0001"] == {"ok": 3, "no_face": 1}
    metrics = json.loads((root / "results/metrics/track.json").read_text())
    assert metrics["landmark_error"]["views"] == 3
    assert (root / "results/timings/track.json").is_file()
    with Registry.from_config(root) as reg:
        assert any(
            r.artifact.endswith("track_report.json") for r in reg.lineage_for_subject("s0001")
        )
