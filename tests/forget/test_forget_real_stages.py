"""Issue #8 end to end on the REAL stages: three real subjects, forget one, check everything.

``dvc repro`` of this repository's own dvc.yaml (synth, ingest, track, train_prior,
adapt_prior, invert, evaluate, report; tiny settings) on two real videos and a photo, committed
and pushed with the run-cache to a local remote; then ``python -m flows.forget s4711 --yes``
(retraining on) under the same Prefect server. Checks: no byte sequence of the subject's files
(or of the model trained on it) and not its pseudonym anywhere in the workspace, DVC cache,
remote, run-caches, Prefect result storage or DVC state; no Prefect flow run names it; the
other subjects' artifacts are byte-identical; the adaptation was retrained on the other two
only; the base prior was not touched; the audit chain verifies; ``dvc repro`` reruns cleanly.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from real_project import (
    REGISTRY_URL,
    SUBJECTS,
    build,
    dvc,
    folder_files,
    prefect_server,
    py,
    subject_files,
)

from headforge.privacy import Registry, Scope

pytestmark = [pytest.mark.slow, pytest.mark.blender]

GONE, KEPT = "s4711", ["s4712", "s4713"]
ADAPTED = "results/train_prior/adapted"
BASE = "results/train_prior/base"


def flow_runs(api: dict[str, str]) -> list[dict[str, object]]:
    """Every flow run of the server as {name, flow, parameters, tags}."""
    import os

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with temporary_settings({PREFECT_API_URL: api["PREFECT_API_URL"]}), get_client(
            sync_client=True) as client:
        return [{"name": r.name, "parameters": r.parameters, "tags": list(r.tags),
                 "state": r.state.message if r.state else None}
                for r in client.read_flow_runs(limit=200)]


def log_lines(api: dict[str, str]) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api["PREFECT_API_URL"]}), get_client(
            sync_client=True) as client:
        out: list[str] = []
        while True:
            page = client.read_logs(limit=200, offset=len(out))
            out += [log.message for log in page]
            if len(page) < 200:
                return out


def blobs_of(root: Path, subject: str) -> list[bytes]:
    """Contents that identify the subject: its per-subject files (>= 32 bytes, not shared)."""
    mine = {(root / rel).read_bytes() for rel in subject_files(root, subject)}
    others = {(root / rel).read_bytes() for s in SUBJECTS if s != subject
              for rel in subject_files(root, s)}
    return sorted((b for b in mine - others if len(b) >= 32), key=len)


def scanned_files(case: Path) -> list[Path]:
    """Everything that must hold nothing of the subject. Not scanned: git objects (code and
    .dvc/lock pointers only: checked by forget's git scan), the consent registry (keeps the
    withdrawn consent by design) and Prefect's SQLite API database (checked through the API
    below: SQLite may keep freed pages until a VACUUM)."""
    out = []
    for p in case.rglob("*"):
        rel = p.relative_to(case).as_posix()
        if p.is_file() and not p.is_symlink() and not rel.startswith(
                ("proj/.git/", "proj/registry/", "proj/.prefect/prefect.db")):
            out.append(p)
    return out


def test_forget_one_of_three_real_subjects_on_the_real_pipeline(
        realdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = tmp_path
    root = case / "proj"
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(case / "site"))
    monkeypatch.setenv("HOME", str(case / "home"))  # ~/.prefect/storage: a private one
    timings: dict[str, float] = {}
    with prefect_server(root) as api:
        t0 = time.perf_counter()
        build(root, realdata, api)
        timings["build"] = time.perf_counter() - t0

        # ---- the pipeline really ran on the three subjects
        card = json.loads((root / ADAPTED / "train_metrics.json").read_text())
        assert card["subjects"] == sorted(SUBJECTS) and card["steps"] == 3
        assert card["base"]["sha256"]  # trained from the base checkpoint
        reg = Registry.from_url(REGISTRY_URL, root=root)
        rec = reg.lineage_for_artifact(ADAPTED)
        assert [sorted(r.subject_ids) for r in rec] == [sorted(SUBJECTS)]
        assert rec[0].stage == "adapt_prior"
        for s in SUBJECTS:
            assert (root / "results/invert" / s).is_dir()
            assert list((root / "results/track" / s / "flame_params").glob("*.npz"))
        base_before = folder_files(root / BASE)
        adapted_before = folder_files(root / ADAPTED)
        kept_before = {s: subject_files(root, s) for s in KEPT}
        blobs = blobs_of(root, GONE) + [(root / ADAPTED / "prior.pt").read_bytes()]
        assert len(blobs) >= 15
        # a preview leaves a flow run whose parameters name the subject in Prefect's database
        out = py(root, "-m", "flows.forget", GONE, "--dry-run", extra=api).stdout
        assert "status: dry-run" in out and "workspace" in out
        assert any(r["parameters"].get("subject") == GONE for r in flow_runs(api))  # type: ignore[union-attr]
        dvc(root, "status")  # DVC's state databases now name every subject's paths

        # ---- forget s4711 through the real flow, retraining on
        t0 = time.perf_counter()
        res = py(root, "-m", "flows.forget", GONE, "--yes", extra=api)
        timings["forget_with_retrain"] = time.perf_counter() - t0
        assert "status: forgotten" in res.stdout, res.stdout[-3000:] + res.stderr[-3000:]
        timings["retrain_adapt_prior"] = json.loads(
            (root / "results/timings/adapt_prior.json").read_text())["seconds"]

        # zero bytes of it in workspace, DVC cache, remote, run-caches, Prefect storage, state
        for p in scanned_files(case):
            data = p.read_bytes()
            assert GONE.encode() not in data, p
            assert not any(b in data for b in blobs), p
            assert GONE not in p.relative_to(case).as_posix()
        # ... and in Prefect's API database: no flow run and no log line names it
        runs = flow_runs(api)
        assert not [r for r in runs if GONE in json.dumps(r)]
        assert {r["parameters"].get("subject") for r in runs} >= {"<forgotten>"}  # type: ignore[union-attr]
        assert len(runs) >= 8  # the stages' runs are kept (they never named the subject)
        assert not [ln for ln in log_lines(api) if GONE in ln]

        # the other subjects: byte-identical per-subject artifacts
        assert {s: subject_files(root, s) for s in KEPT} == kept_before
        # the base prior is untouched; the adaptation was retrained without the subject
        assert folder_files(root / BASE) == base_before
        card = json.loads((root / ADAPTED / "train_metrics.json").read_text())
        assert card["subjects"] == KEPT and card["steps"] == 3
        assert folder_files(root / ADAPTED)["prior.pt"] != adapted_before["prior.pt"]
        assert [sorted(r.subject_ids) for r in reg.lineage_for_artifact(ADAPTED)] == [KEPT]
        assert not list((root / "results").glob("*/RETRAIN_REQUESTED.json"))
        assert reg.lineage_for_subject(GONE) == []
        assert not reg.has_consent(GONE, Scope.CAPTURE)
        assert all(reg.has_consent(s, Scope.TRAIN_PRIOR) for s in KEPT)
        entry = reg.audit_entries()[-1]
        assert entry.event == "forget.subject" and entry.payload["verified"] is True
        assert entry.payload["retrain"] == ["adapt_prior"] and GONE not in json.dumps(
            entry.payload)
        reg.close()
        audit = py(root, "-m", "headforge.cli", "audit", "verify")
        assert "audit log OK" in audit.stdout

        # the pipeline still reproduces, and is then up to date
        t0 = time.perf_counter()
        dvc(root, "repro", extra=api)
        timings["repro_after"] = time.perf_counter() - t0
        assert "up to date" in dvc(root, "status")
        assert sorted(json.loads((root / "results/invert/index.json").read_text())) == KEPT
        for s in KEPT:  # their captures were not re-made differently by the rerun
            caps = {k: v for k, v in kept_before[s].items() if k.startswith("data/captures/")}
            assert {k: v for k, v in subject_files(root, s).items() if k in caps} == caps
        again = py(root, "-m", "flows.forget", GONE, "--yes", extra=api)
        assert "status: nothing-to-do" in again.stdout
    print("timings", json.dumps({k: round(v, 1) for k, v in timings.items()}))
