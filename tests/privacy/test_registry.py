"""Consents, subjects and lineage in the SQLite registry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from headforge.privacy import ConsentError, InvalidInputError, Registry, Scope

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SHA = "ab" * 32


def test_grant_gives_consent_for_that_scope_only(reg: Registry) -> None:
    cid = reg.grant("s0001", Scope.CAPTURE, evidence="form:2026-01-01/1")
    assert cid >= 1
    assert reg.has_consent("s0001", "capture")
    assert not reg.has_consent("s0001", Scope.AVATAR)
    assert not reg.has_consent("s0002", Scope.CAPTURE)
    reg.require_consent("s0001", Scope.CAPTURE)
    assert [s.id for s in reg.subjects()] == ["s0001"]
    (c,) = reg.consents("s0001")
    assert (c.scope, c.evidence, c.status()) == (Scope.CAPTURE, "form:2026-01-01/1", "valid")
    assert c.granted_at.tzinfo is not None and c.granted_at.utcoffset() == timedelta(0)


def test_withdraw_refuses_consent_and_names_the_fix(reg: Registry) -> None:
    reg.grant("s0001", "capture", evidence="form:1", granted_at=T0)
    reg.grant("s0001", "avatar", evidence="form:1")
    assert reg.withdraw("s0001", "capture") == 1
    assert not reg.has_consent("s0001", "capture")
    assert reg.has_consent("s0001", "avatar")
    with pytest.raises(ConsentError, match=r"no valid 'capture' consent \(withdrawn .*"
                                           r"headforge consent grant s0001 --scope capture"):
        reg.require_consent("s0001", Scope.CAPTURE)
    assert reg.withdraw("s0001", "capture") == 0  # nothing active any more
    assert reg.withdraw("s0001") == 1  # the rest (avatar)
    assert not reg.has_consent("s0001", "avatar")
    # Before the withdrawal the consent was valid.
    (c, _) = reg.consents("s0001")
    assert c.withdrawn_at is not None
    assert reg.has_consent("s0001", "capture", at=c.withdrawn_at - timedelta(seconds=1))


def test_regrant_after_withdraw(reg: Registry) -> None:
    reg.grant("s0001", "capture", evidence="form:1")
    reg.withdraw("s0001")
    reg.grant("s0001", "capture", evidence="form:2")
    assert reg.has_consent("s0001", "capture")


def test_expires_at_in_the_past_is_refused(reg: Registry) -> None:
    reg.grant("s0001", "capture", evidence="form:1", granted_at=T0,
              expires_at=T0 + timedelta(days=10))
    assert reg.has_consent("s0001", "capture", at=T0 + timedelta(days=9))
    assert not reg.has_consent("s0001", "capture", at=T0 + timedelta(days=10))
    assert not reg.has_consent("s0001", "capture")  # now is long after 2026-01-11
    with pytest.raises(ConsentError, match="expired 2026-01-11 12:00 UTC"):
        reg.require_consent("s0001", "capture")
    assert [c.id for c in reg.expired_consents()] == [reg.consents("s0001")[0].id]
    assert reg.expired_consents(now=T0 + timedelta(days=5)) == []


def test_retention_days_elapsed_is_refused(reg: Registry) -> None:
    granted = datetime.now(UTC) - timedelta(days=3)
    reg.grant("s0001", "train_prior", evidence="form:1", granted_at=granted, retention_days=2)
    reg.grant("s0002", "train_prior", evidence="form:2", granted_at=granted, retention_days=30)
    assert not reg.has_consent("s0001", "train_prior")
    assert reg.has_consent("s0002", "train_prior")
    (c,) = reg.expired_consents()
    assert c.subject_id == "s0001" and c.valid_until == granted + timedelta(days=2)
    assert c.status() == "expired"
    # The earlier end wins when both are given.
    cid = reg.grant("s0003", "avatar", evidence="form:3", granted_at=T0,
                    expires_at=T0 + timedelta(days=100), retention_days=5)
    (c3,) = [c for c in reg.consents("s0003") if c.id == cid]
    assert c3.valid_until == T0 + timedelta(days=5)
    # A withdrawn consent is no longer listed as expired (retention already handled it).
    reg.withdraw("s0001")
    assert "s0001" not in {c.subject_id for c in reg.expired_consents()}


def test_consent_granted_in_the_future_is_not_valid_yet(reg: Registry) -> None:
    later = datetime.now(UTC) + timedelta(days=1)
    reg.grant("s0001", "capture", evidence="form:1", granted_at=later)
    assert not reg.has_consent("s0001", "capture")
    with pytest.raises(ConsentError, match="granted only from"):
        reg.require_consent("s0001", "capture")


def test_unknown_subject_and_never_granted(reg: Registry) -> None:
    with pytest.raises(ConsentError, match="never granted"):
        reg.require_consent("s0404", "capture")
    with pytest.raises(ConsentError, match="not registered"):
        reg.withdraw("s0404")
    reg.add_subject("s0404")
    reg.add_subject("s0404")  # idempotent
    assert [s.id for s in reg.subjects()] == ["s0404"]


@pytest.mark.parametrize(
    "bad",
    ["Jane Doe", "jane.doe@example.org", "ab", "x" * 65, "S0001", "-s01", "", "s 01", "s01\n",
     "müller"],
)
def test_bad_subject_ids_are_refused(reg: Registry, bad: str) -> None:
    with pytest.raises(InvalidInputError, match="not a pseudonym"):
        reg.add_subject(bad)
    with pytest.raises(InvalidInputError, match="not a pseudonym"):
        reg.grant(bad, "capture", evidence="form:1")
    assert reg.subjects() == []


def test_bad_grant_inputs_name_the_fix(reg: Registry) -> None:
    with pytest.raises(InvalidInputError, match="unknown consent scope 'photos'.*capture"):
        reg.grant("s0001", "photos", evidence="form:1")
    with pytest.raises(InvalidInputError, match="evidence is empty"):
        reg.grant("s0001", "capture", evidence="  ")
    with pytest.raises(InvalidInputError, match="e-mail address"):
        reg.grant("s0001", "capture", evidence="signed by jane@example.org")
    with pytest.raises(InvalidInputError, match="positive number of days"):
        reg.grant("s0001", "capture", evidence="form:1", retention_days=0)
    with pytest.raises(InvalidInputError, match="no time zone"):
        reg.grant("s0001", "capture", evidence="form:1", expires_at=datetime(2030, 1, 1))
    with pytest.raises(InvalidInputError, match="not after the grant time"):
        reg.grant("s0001", "capture", evidence="form:1", granted_at=T0, expires_at=T0)
    assert reg.consents() == [] and reg.subjects() == []


def test_lineage_round_trip_replace_and_delete(reg: Registry, root: Path) -> None:
    for s in ("s0001", "s0002"):
        reg.grant(s, "capture", evidence="form:1")
    reg.record_lineage("data/captures/s0001/f0.png", SHA, "ingest", ["s0001"])
    reg.record_lineage_many([
        (str(root / "results/track/s0001.npz"), "cd" * 32, "track", ["s0001"]),
        ("results/train_prior/ckpt.pt", "ef" * 32, "train_prior", ["s0002", "s0001"]),
        ("data/synth/manifest.parquet", "01" * 32, "synth", []),
    ])
    got = reg.lineage_for_subject("s0001")
    assert [r.artifact for r in got] == [
        "data/captures/s0001/f0.png", "results/track/s0001.npz", "results/train_prior/ckpt.pt"]
    assert got[2].subject_ids == ("s0001", "s0002") and got[2].stage == "train_prior"
    assert [r.artifact for r in reg.lineage_for_subject("s0002")] == ["results/train_prior/ckpt.pt"]
    (synth,) = reg.lineage_for_artifact("./data/synth/manifest.parquet")
    assert synth.subject_ids == () and synth.sha256 == "01" * 32
    # Re-recording a path replaces its record (the file was overwritten).
    reg.record_lineage("results/train_prior/ckpt.pt", "ff" * 32, "train_prior", ["s0002"])
    assert [r.artifact for r in reg.lineage_for_subject("s0001")] == [
        "data/captures/s0001/f0.png", "results/track/s0001.npz"]
    assert reg.lineage_for_artifact("results/train_prior/ckpt.pt")[0].sha256 == "ff" * 32
    assert reg.delete_lineage(["results/track/s0001.npz", "not/recorded.png"]) == 1
    assert [r.artifact for r in reg.lineage_for_subject("s0001")] == ["data/captures/s0001/f0.png"]
    assert reg.counts()["lineage"] == 3 and reg.counts()["lineage_subjects"] == 2


def test_lineage_bad_inputs(reg: Registry) -> None:
    reg.add_subject("s0001")
    with pytest.raises(ConsentError, match=r"unregistered subject\(s\) \['s0999'\]"):
        reg.record_lineage("a.png", SHA, "ingest", ["s0001", "s0999"])
    with pytest.raises(InvalidInputError, match="outside the project root"):
        reg.record_lineage("/elsewhere/a.png", SHA, "ingest", ["s0001"])
    with pytest.raises(InvalidInputError, match="without '..'"):
        reg.record_lineage("data/../../a.png", SHA, "ingest", ["s0001"])
    with pytest.raises(InvalidInputError, match="not a SHA-256"):
        reg.record_lineage("a.png", "abc", "ingest", ["s0001"])
    with pytest.raises(InvalidInputError, match="not a stage name"):
        reg.record_lineage("a.png", SHA, "Ingest!", ["s0001"])
    with pytest.raises(InvalidInputError, match="pass a list"):
        reg.record_lineage("a.png", SHA, "ingest", "s0001")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="listed twice"):
        reg.record_lineage_many([("a.png", SHA, "ingest", []), ("./a.png", SHA, "ingest", [])])
    # All-or-nothing: one bad row leaves nothing behind.
    with pytest.raises(ConsentError):
        reg.record_lineage_many([("a.png", SHA, "ingest", ["s0001"]),
                                 ("b.png", SHA, "ingest", ["s0777"])])
    assert reg.counts()["lineage"] == 0


def test_relative_sqlite_path_resolves_against_project_root(root: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.delenv("HEADFORGE_REGISTRY_URL", raising=False)
    monkeypatch.chdir(root)
    with Registry.from_config() as r:
        r.add_subject("s0001")
    assert (root / "registry" / "test.sqlite").is_file()
    with Registry.from_url("sqlite:///registry/test.sqlite", root=root) as r2:
        assert [s.id for s in r2.subjects()] == ["s0001"]


def test_bad_url_names_the_fix(root: Path) -> None:
    from headforge.privacy import RegistryError

    with pytest.raises(RegistryError, match="not an SQLAlchemy URL"):
        Registry.from_url("registry.sqlite", root=root)
