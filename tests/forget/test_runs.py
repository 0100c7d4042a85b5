"""Prefect's API database as forget sees it: which flow runs go, what verify reports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from headforge.privacy import Registry
from headforge.privacy.forget import ForgetSettings, build_plan, forget_subject
from headforge.privacy.forget.markers import pseudonym_pattern
from headforge.privacy.forget.prefect_runs import REDACTED, redact_value, scan_flow_runs


class FakeRuns:
    """An in-memory FlowRunCatalog: runs (id -> record) and log lines (run id, message)."""

    def __init__(self, runs: dict[str, dict], logs: list[tuple[str | None, str]],
                 own: str | None = None) -> None:
        self.runs, self.logs, self.own = runs, logs, own
        self.deleted: list[str] = []

    def current_run(self) -> str | None:
        return self.own

    def iter_runs(self) -> Iterator[tuple[str, bytes]]:
        for rid, rec in self.runs.items():
            yield rid, json.dumps(rec, sort_keys=True).encode()

    def iter_logs(self, text: str) -> Iterator[tuple[str | None, bytes]]:
        for rid, msg in self.logs:
            if text.lower() in msg.lower():
                yield rid, msg.encode()

    def delete_run(self, run_id: str) -> None:
        self.deleted.append(run_id)
        self.runs.pop(run_id, None)
        # like Prefect: the run's log lines stay (orphans) until the db_vacuum service runs

    def redact_run(self, run_id: str, pattern: re.Pattern[bytes]) -> None:
        self.runs[run_id] = redact_value(self.runs[run_id], pattern)


def runs_fixture(own: str | None = None) -> FakeRuns:
    return FakeRuns({
        "r-forget-old": {"name": "eager-owl", "parameters": {"subject": "s0001"}, "tags": []},
        "r-ingest": {"name": "calm-fox", "parameters": {"subjects": ["s0001", "s0002"]},
                     "tags": []},
        "r-logs": {"name": "quiet-cat", "parameters": {}, "tags": []},
        "r-other": {"name": "bold-elk", "parameters": {"subjects": ["s0002", "s00010"]},
                    "tags": ["nightly"]},
        "r-own": {"name": "bright-jay", "parameters": {"subject": "s0001"}, "tags": []},
    }, [("r-logs", "ingest subject s0001: 3 frames"), ("r-other", "tracked s0002")], own)


def test_scan_deletes_runs_naming_the_subject_but_not_its_own() -> None:
    pat = pseudonym_pattern("s0001", ["s0002", "s00010"])
    actions, n, orphans = scan_flow_runs(runs_fixture(own="r-own"), "s0001", pat)
    assert n == 5 and orphans == 0
    assert [a.target for a in actions] == ["r-forget-old", "r-ingest", "r-logs"]
    assert "log line" in actions[2].reason
    assert redact_value({"subject": "s0001", "n": ["s00010", "s0001"]}, pat) == {
        "subject": REDACTED, "n": ["s00010", REDACTED]}


def test_forget_deletes_runs_and_verify_reports_orphan_logs(root: Path, reg: Registry,
                                                          settings: ForgetSettings) -> None:
    import dataclasses

    fake = runs_fixture()
    st = dataclasses.replace(settings, flow_runs=fake)
    plan = build_plan(st, reg, "s0001", create_salt=False)
    assert plan.counts()["prefect-api.delete_flow_run"] == 4  # no current run: r-own too
    out = forget_subject(st, reg, "s0001")
    assert sorted(fake.deleted) == ["r-forget-old", "r-ingest", "r-logs", "r-own"]
    assert sorted(fake.runs) == ["r-other"]
    # the log line of the deleted run is still readable: verify says so, with the fix
    assert out.status == "incomplete" and out.verify is not None
    hits = [h for h in out.verify.hits if h.store == "prefect-api"]
    assert [h.target for h in hits] == ["logs"] and "db_vacuum" in hits[0].reason
    fake.logs = [ln for ln in fake.logs if ln[0] in fake.runs]  # the vacuum ran
    again = forget_subject(st, reg, "s0001")
    assert again.status == "forgotten" and again.verify is not None and again.verify.ok
