"""The track stage end to end on real video frames written to a temporary captures folder
(never into the repository): consent, landmarks, fit, outputs, lineage, explicit statuses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from headforge.config import HeadModelConfig, TrackConfig
from headforge.privacy import ConsentError, Registry, Scope
from headforge.track.problem import PARAM_KEYS
from headforge.track.scene import SceneError
from headforge.track.stage import read_subjects, run_subject, write_summary

from .conftest import make_captures

CFG = TrackConfig(
    steps_rigid=60,
    steps_landmarks=120,
    steps_dense=3,
    dense_resolution=48,
    overlays=2,
    landmark_cache="results/cache/track_landmarks",
)


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory, realdata: Path) -> Path:
    """A project root with a 4-frame monocular subject (3 real frames + 1 blank)."""
    return make_captures(tmp_path_factory.mktemp("proj"), realdata)


@pytest.fixture()
def registry(captures: Path):
    reg = Registry.from_url(f"sqlite:///{captures}/registry.sqlite", root=captures)
    yield reg
    reg.close()


def test_run_subject_writes_everything(captures: Path, registry) -> None:
    registry.grant("s0001", Scope.CAPTURE, "form:test/1")
    views = read_subjects(captures / "data/captures/manifest.parquet", captures)["s0001"]
    out = run_subject("s0001", views, CFG, HeadModelConfig(), captures, registry)
    d = captures / "results/track/s0001"
    rep = json.loads((d / "track_report.json").read_text())
    assert rep["status_counts"] == {"ok": 3, "no_face": 1}
    assert rep["not_ok"][0]["frame"].endswith("000003") and "no face" in rep["not_ok"][0]["reason"]
    assert (
        rep["landmark_error"]["views"] == 3 and rep["landmark_error"]["mean_px"] < CFG.max_error_px
    )
    assert rep["focal_scale"]["clip/video"] != 1.0  # estimated camera: focal optimised
    stems = sorted(p.stem for p in (d / "flame_params").glob("*.npz"))
    assert stems == [f"clip_video_{i:06d}" for i in range(3)]  # no file for the blank frame
    with np.load(d / "flame_params" / f"{stems[0]}.npz") as z:
        assert set(PARAM_KEYS) <= set(z.files) and str(z["model_id"]) == "headforge-builtin-v1"
        assert z["shape"].shape == (50,) and z["eyes_pose"].shape == (6,)
        assert all(np.isfinite(z[k]).all() for k in PARAM_KEYS)
    lm = np.load(d / "landmarks.npz")
    assert np.isnan(lm["detected"][3]).all() and np.isfinite(lm["fitted"][:3]).all()
    assert len(list((d / "overlays").glob("*.png"))) == 2
    residuals = (d / "residuals.csv").read_text().splitlines()
    assert len(residuals) == 5 and "no_face" in residuals[4]
    # lineage: every output file and every landmark cache entry names the subject
    rec = {r.artifact for r in registry.lineage_for_subject("s0001")}
    assert "results/track/s0001/track_report.json" in rec
    assert sum(a.startswith("results/cache/track_landmarks/") for a in rec) == 4
    assert all(Path(captures / a).is_file() for a in rec)
    assert out.report["detector"] == "mediapipe"
    m = write_summary(captures / "results/metrics/track.json", [out], {})
    assert json.loads(m.read_text())["landmark_error"]["views"] == 3


def test_consent_and_missing_subject(captures: Path, registry) -> None:
    views = read_subjects(captures / "data/captures/manifest.parquet", captures)["s0001"]
    with pytest.raises(ConsentError):
        run_subject("s0002", views, CFG, HeadModelConfig(), captures, registry)
    with pytest.raises(SceneError, match="no frames"):
        run_subject(
            "s0002", [], TrackConfig(require_consent=False), HeadModelConfig(), captures, None
        )
    with pytest.raises(SceneError, match="ingest"):
        read_subjects(captures / "nope.parquet", captures)
