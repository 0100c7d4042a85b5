"""The Prefect flows ``forget`` and ``retention`` on the three-subject project (one harness)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
from forget_fixture import subject_files

from headforge.privacy import Registry, Scope

prefect_testing = pytest.importorskip("prefect.testing.utilities")


def touch(subjects: list[str]) -> int:
    """A flow run whose parameters name subjects (as ``ingest(subjects=[...])`` would)."""
    return len(subjects)


def api_runs() -> list[dict]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return [{"id": str(r.id), "flow": r.flow_id, "parameters": r.parameters,
                 "name": r.name} for r in client.read_flow_runs(limit=200)]


@pytest.fixture(scope="module")
def harness():
    with prefect_testing.prefect_test_harness(server_startup_timeout=180):  # loaded CI hosts
        yield


def test_forget_and_retention_flows(harness, case: Path, root: Path, reg: Registry,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings

    from flows.forget import forget
    from flows.retention import retention

    monkeypatch.setenv("HOME", str(case / "home"))  # ~/.prefect/storage: a private one
    from prefect import flow

    touch_flow = flow(name="touch-subjects")(touch)
    with temporary_settings({PREFECT_RESULTS_LOCAL_STORAGE_PATH: case / "prefect"}):
        kept = subject_files(root, "s0002")
        assert touch_flow(["s0001", "s0002"]) == 2 and touch_flow(["s0002"]) == 1
        # without --yes outside a deployment: preview only, nothing changes
        out = forget("s0001", root=str(root))
        assert out["status"] == "not-approved"
        assert (root / "inbox/s0001").is_dir() and reg.has_consent("s0001", Scope.CAPTURE)
        assert out["counts"]["workspace.delete"] >= 10

        # as a deployment run: pauses for approval (a form without the id or paths)
        import flows.forget as fmod

        asked: list[dict] = []

        def fake_pause(wait_for_input, timeout):
            asked.append({"text": wait_for_input._description, "timeout": timeout})
            return wait_for_input()  # the form's initial data: approve=False -> rejected

        monkeypatch.setattr(fmod, "in_deployment", lambda: True)
        monkeypatch.setattr(fmod, "pause_flow_run", fake_pause)
        assert forget("s0001", root=str(root))["status"] == "not-approved"
        assert asked and asked[0]["timeout"] == 86400 and "s0001" not in asked[0]["text"]
        assert "workspace" in asked[0]["text"] and (root / "inbox/s0001").is_dir()
        monkeypatch.setattr(fmod, "in_deployment", lambda: False)

        assert sum("s0001" in json.dumps(r["parameters"]) for r in api_runs()) == 3
        out = forget("s0001", yes=True, root=str(root))
        assert out["status"] == "forgotten" and out["verify"]["ok"]
        # Prefect's API database: the runs naming s0001 are gone (touch + 2 earlier forget
        # runs), this forget's own run is redacted, the run naming only s0002 is kept
        runs = api_runs()
        assert not [r for r in runs if "s0001" in json.dumps(r["parameters"])]
        assert [r["parameters"]["subjects"] for r in runs if "subjects" in r["parameters"]] == [
            ["s0002"]]
        assert [r["parameters"]["subject"] for r in runs if "subject" in r["parameters"]] == [
            "<forgotten>"]
        assert out["counts"]["prefect-api.delete_flow_run"] == 3
        assert out["verify"]["checked"]["prefect-api"] >= 2
        assert "s0001" not in json.dumps(out)  # what Prefect keeps: counts and digest only
        assert not (root / "inbox/s0001").exists()
        results = {s: case / "prefect" / hashlib.sha256(s.encode()).hexdigest()
                   for s in ("s0001", "s0002")}
        assert not results["s0001"].exists() and results["s0002"].is_file()
        assert out["retrain"] == ["train_prior_adapt"]
        assert forget("s0001", yes=True, root=str(root))["status"] == "nothing-to-do"

        reg.withdraw("s0003")
        swept = retention(root=str(root))
        assert [r["status"] for r in swept] == ["forgotten"]
        assert not (root / "inbox/s0003").exists()
        assert subject_files(root, "s0002") == kept
        assert retention(root=str(root)) == []
    assert reg.verify_audit().ok
    events = [e.event for e in reg.audit_entries()]
    assert events.count("forget.subject") == 2


def test_prefect_catalogue_reads_runs_and_searches_logs(harness) -> None:
    from prefect import flow, get_run_logger
    from prefect.logging.handlers import APILogHandler

    from headforge.privacy.forget.markers import pseudonym_pattern
    from tasks.forget import PrefectFlowRuns

    @flow(name="log-subjects")
    def chatty(subjects: list[str]) -> None:
        # WARNING: `make test` runs with PREFECT_LOGGING_LEVEL=WARNING (INFO never reaches the API)
        get_run_logger().warning("processed %s", ", ".join(subjects))

    chatty(["s0007", "s0008"])
    APILogHandler().flush()  # logs reach the API in background batches
    cat = PrefectFlowRuns()
    assert cat.current_run() is None  # outside a flow run
    deadline = time.monotonic() + 30.0
    while not (lines := list(cat.iter_logs("S0007"))) and time.monotonic() < deadline:
        time.sleep(0.5)  # server-side search, case-insensitive; a loaded server lags
    assert [m for _, m in lines] == [b"processed s0007, s0008"] and lines[0][0]
    assert list(cat.iter_logs("s0009")) == []
    runs = dict(cat.iter_runs())
    rid = lines[0][0]
    assert b'"s0007"' in runs[rid]
    cat.redact_run(rid, pseudonym_pattern("s0007", ["s0008"]))
    assert b'"s0007"' not in dict(cat.iter_runs())[rid] and b"<forgotten>" in dict(
        cat.iter_runs())[rid]
    cat.delete_run(rid)
    cat.delete_run(rid)  # idempotent
    assert rid not in dict(cat.iter_runs())
