"""``headforge consent ...`` and ``headforge audit ...`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from headforge.privacy import Registry
from headforge.privacy.cli import audit_app, consent_app

runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite'}"


def run(app, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_round_trip(url: str) -> None:
    r = run(consent_app, "grant", "s0001", "--scope", "capture", "--scope", "avatar",
            "--evidence", "form:2026-01-01/1", "--retention-days", "30", "--registry", url)
    assert r.exit_code == 0, r.output
    assert "granted capture consent #1 for s0001" in r.output
    assert "granted avatar consent #2 for s0001" in r.output
    r = run(consent_app, "grant", "s0002", "-s", "train_prior", "-e", "form:2",
            "--expires", "2099-01-31", "--registry", url)
    assert r.exit_code == 0 and "valid until 2099-01-31 00:00 UTC" in r.output

    with Registry.from_url(url) as reg:
        assert reg.has_consent("s0001", "capture") and reg.has_consent("s0002", "train_prior")
        reg.record_lineage("data/captures/s0001/f0.png", "ab" * 32, "ingest", ["s0001"])

    r = run(consent_app, "withdraw", "s0001", "--scope", "avatar", "--registry", url)
    assert r.exit_code == 0
    assert "withdrew 1 consent(s) of s0001 (avatar); 1 artifact(s) hold its data" in r.output
    r = run(consent_app, "withdraw", "s0001", "--scope", "avatar", "--registry", url)
    assert "nothing withdrawn" in r.output

    r = run(consent_app, "list", "--json", "--registry", url)
    assert json.loads(r.output) == [
        {"subject": "s0001", "capture": "valid", "train_prior": "none", "avatar": "withdrawn"},
        {"subject": "s0002", "capture": "none", "train_prior": "valid", "avatar": "none"},
    ]
    r = run(consent_app, "list", "--registry", url)
    assert "2 subject(s)" in r.output and "withdrawn" in r.output

    r = run(consent_app, "show", "s0001", "--json", "--registry", url)
    shown = json.loads(r.output)
    assert [(c["scope"], c["status"]) for c in shown["consents"]] == [
        ("capture", "valid"), ("avatar", "withdrawn")]
    assert shown["artifacts"][0]["artifact"] == "data/captures/s0001/f0.png"
    r = run(consent_app, "show", "s0001", "--registry", url)
    assert "[ingest] data/captures/s0001/f0.png" in r.output

    r = run(audit_app, "verify", "--registry", url)
    assert r.exit_code == 0 and "audit log OK: 6 entries verified" in r.output
    head = r.output.splitlines()[-1].removeprefix("head ")
    assert run(audit_app, "verify", "--anchor", head, "--registry", url).exit_code == 0
    r = run(audit_app, "verify", "--anchor", "6:" + "0" * 64, "--registry", url)
    assert r.exit_code == 1 and "BROKEN at entry 6" in r.output
    r = run(audit_app, "verify", "--anchor", "six", "--registry", url)
    assert r.exit_code == 2 and "SEQ:HASH" in r.output
    r = run(audit_app, "log", "-n", "2", "--json", "--registry", url)
    events = [json.loads(line)["event"] for line in r.output.splitlines()]
    assert events == ["consent.grant", "consent.withdraw"]


def test_registry_from_environment(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADFORGE_REGISTRY_URL", url)
    assert run(consent_app, "grant", "s0001", "-s", "capture", "-e", "f:1").exit_code == 0
    with Registry.from_url(url) as reg:
        assert reg.has_consent("s0001", "capture")


def test_errors_name_the_fix(url: str) -> None:
    r = run(consent_app, "grant", "jane.doe", "-s", "capture", "-e", "f:1", "--registry", url)
    assert r.exit_code == 2 and "not a pseudonym" in r.output
    r = run(consent_app, "grant", "s0001", "-s", "photos", "-e", "f:1", "--registry", url)
    assert r.exit_code == 2 and "photos" in r.output
    r = run(consent_app, "grant", "s0001", "-s", "capture", "-e", "f:1", "--expires", "soon",
            "--registry", url)
    assert r.exit_code == 2 and "not an ISO date" in r.output
    r = run(consent_app, "withdraw", "s0404", "--registry", url)
    assert r.exit_code == 2 and "not registered" in r.output
    r = run(consent_app, "show", "s0404", "--registry", url)
    assert r.exit_code == 2 and "consent list" in r.output
    r = run(consent_app, "list", "--registry", "not a url")
    assert r.exit_code == 2 and "not an SQLAlchemy URL" in r.output


def test_audit_verify_fails_after_tampering(url: str) -> None:
    for s in ("s0001", "s0002", "s0003"):
        run(consent_app, "grant", s, "-s", "capture", "-e", "f:1", "--registry", url)
    assert run(audit_app, "verify", "--registry", url).exit_code == 0
    with Registry.from_url(url) as reg, reg.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.exec_driver_sql(
            "UPDATE audit_log SET payload = replace(payload, 's0002', 's0009') WHERE seq = 3")
    r = run(audit_app, "verify", "--registry", url)
    assert r.exit_code == 1
    assert "audit log BROKEN at entry 3: entry 3 was modified" in r.output


def test_registered_under_the_headforge_command(url: str) -> None:
    from headforge.cli import app

    r = run(app, "consent", "grant", "s0001", "-s", "capture", "-e", "f:1", "--registry", url)
    assert r.exit_code == 0, r.output
    r = run(app, "audit", "verify", "--registry", url)
    assert r.exit_code == 0 and "2 entries verified" in r.output
