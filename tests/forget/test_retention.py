"""Retention policy: which consents have ended, what the sweep forgets (full or one scope)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from headforge.config import RetentionConfig
from headforge.privacy import Registry, Scope
from headforge.privacy.forget import due_for_retention, forget_subject, load_settings
from headforge.privacy.forget.dvcstore import DvcLayout
from headforge.privacy.forget.retention import consent_end

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SHA = "0" * 64


@pytest.fixture
def plain(tmp_path: Path):
    """A registry in a project without DVC (policy only)."""
    (tmp_path / "params.yaml").write_text("profile: tiny\n")
    reg = Registry.from_url("sqlite:///registry/r.sqlite", root=tmp_path)
    settings = load_settings(tmp_path, prefect_storage=[], layout=DvcLayout(None, None, {}))
    yield tmp_path, reg, settings
    reg.close()


def test_consent_end_uses_withdrawal_expiry_or_default_retention(plain) -> None:
    _, reg, settings = plain
    reg.grant("s0101", Scope.CAPTURE, "form:1", expires_at=T0 + timedelta(days=5), granted_at=T0)
    reg.grant("s0102", Scope.CAPTURE, "form:2", granted_at=T0)
    reg.grant("s0103", Scope.CAPTURE, "form:3", granted_at=T0)
    reg.withdraw("s0103", at=T0 + timedelta(days=2))
    cfg = settings.config
    ends = {c.subject_id: consent_end(c, cfg) for c in reg.consents()}
    assert ends["s0101"] == (T0 + timedelta(days=5), "expired")
    assert ends["s0102"] == (T0 + timedelta(days=cfg.derived_days), "retention")
    assert ends["s0103"] == (T0 + timedelta(days=2), "withdrawn")
    longer = dataclasses.replace(cfg, scope_days={"capture": 365})
    assert consent_end(reg.consents("s0102")[0], longer)[0] == T0 + timedelta(days=365)


def test_due_subjects_full_and_scoped(plain) -> None:
    root, reg, settings = plain
    for s in ("s0201", "s0202", "s0203", "s0204"):
        reg.grant(s, Scope.CAPTURE, f"form:{s}", granted_at=T0, retention_days=400)
        reg.grant(s, Scope.TRAIN_PRIOR, f"form:{s}", granted_at=T0, retention_days=400)
    reg.withdraw("s0201")                                   # everything withdrawn
    reg.withdraw("s0202", Scope.TRAIN_PRIOR)                # only the prior scope
    reg.withdraw("s0203", Scope.TRAIN_PRIOR)                # ... but nothing of it in lineage
    for s in ("s0201", "s0202"):
        reg.record_lineage(f"data/captures/{s}/f.png", SHA, "ingest", [s])
    reg.record_lineage("results/train_prior/adapted", SHA, "train_prior", ["s0201", "s0202"])
    due = {(d.subject, d.scope, d.reason) for d in due_for_retention(settings, reg)}
    assert due == {("s0201", None, "withdrawn"), ("s0202", "train_prior", "withdrawn")}
    # after 400 days every consent has expired: every subject is due in full
    later = T0 + timedelta(days=401)
    assert {(d.subject, d.scope) for d in due_for_retention(settings, reg, later)} == {
        ("s0201", None), ("s0202", None), ("s0203", None), ("s0204", None)}


def test_open_ended_consents_follow_the_configured_days(plain) -> None:
    _, reg, settings = plain
    reg.grant("s0301", Scope.CAPTURE, "form:a", granted_at=T0)
    at = T0 + timedelta(days=31)
    assert [d.subject for d in due_for_retention(settings, reg, at)] == ["s0301"]
    longer = dataclasses.replace(settings, config=RetentionConfig(scope_days={"capture": 90}))
    assert due_for_retention(longer, reg, at) == []


def test_retention_forgets_the_expired_subject_once(case: Path, root: Path, reg: Registry,
                                                   settings) -> None:
    reg.withdraw("s0003")
    due = due_for_retention(settings, reg)
    assert [(d.subject, d.scope) for d in due] == [("s0003", None)]
    out = forget_subject(settings, reg, "s0003", trigger="retention")
    assert out.status == "forgotten"
    assert out.audit is not None and out.audit.payload["trigger"] == "retention"
    assert due_for_retention(settings, reg) == []  # already forgotten: skipped next time
