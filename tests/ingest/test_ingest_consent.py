"""Consent gates ingest: granted works; never granted, withdrawn or expired is refused with
nothing written; the CLI exits non-zero."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from capture_builders import data_files, grant, write_png
from typer.testing import CliRunner

from headforge.config import IngestConfig
from headforge.ingest import ingest_subjects, read_manifest
from headforge.privacy import ConsentError, Registry
from headforge.privacy.records import now_utc

SID = "consent-s01"


@pytest.fixture()
def capture(root: Path, astronaut: np.ndarray) -> Path:
    return write_png(root / "inbox" / SID / "a.png", astronaut)


def _refused(root: Path, registry: Registry, cfg: IngestConfig, why: str) -> None:
    before = data_files(root)
    with pytest.raises(ConsentError, match=f"no valid 'capture' consent \\({why}") as err:
        ingest_subjects([SID], cfg, registry, root)
    assert "headforge consent grant" in str(err.value)
    assert data_files(root) == before
    assert registry.lineage_for_subject(SID) == []


def test_granted_consent_allows_ingest(
    capture: Path, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    grant(registry, SID, days=30)
    ingest_subjects([SID], cfg, registry, root)
    assert list(read_manifest().subject) == [SID]
    events = [e.event for e in registry.audit_entries()]
    assert events[-1] == "ingest.commit"


def test_never_granted_is_refused(
    capture: Path, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    registry.add_subject(SID)
    _refused(root, registry, cfg, "never granted")


def test_withdrawn_is_refused(
    capture: Path, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    grant(registry, SID)
    registry.withdraw(SID)
    _refused(root, registry, cfg, "withdrawn")


def test_expired_is_refused(
    capture: Path, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    registry.add_subject(SID)
    registry.grant(SID, "capture", evidence="form-0002", granted_at=now_utc() - timedelta(days=10),
                   expires_at=now_utc() - timedelta(days=1))
    _refused(root, registry, cfg, "expired")


def test_one_refused_subject_blocks_the_batch(
    capture: Path, astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    write_png(root / "inbox" / "consent-s02" / "b.png", astronaut[::-1])
    grant(registry, "consent-s02")
    registry.add_subject(SID)
    with pytest.raises(ConsentError):
        ingest_subjects(["consent-s02", SID], cfg, registry, root)
    assert data_files(root) == {}
    assert not (root / "data" / ".ingest-staging").exists()


def test_cli_refuses_then_ingests(capture: Path, root: Path, registry: Registry) -> None:
    from headforge.ingest.cli import app

    runner = CliRunner()
    registry.add_subject(SID)
    res = runner.invoke(app, ["run", "--subject", SID])
    assert res.exit_code == 3
    assert "refused" in res.output and "never granted" in res.output
    assert data_files(root) == {}
    registry.grant(SID, "capture", evidence="form-0003")
    res = runner.invoke(app, ["run", "--subject", SID, "--resolution", "96"])
    assert res.exit_code == 0, res.output
    assert f"ingested {SID}: 1 images" in res.output
    assert read_manifest().width.tolist() == [96]
    res = runner.invoke(app, ["show"])
    assert res.exit_code == 0 and SID in res.output


def test_cli_reports_a_bad_capture(root: Path, registry: Registry) -> None:
    from headforge.ingest.cli import app

    (root / "inbox" / SID).mkdir()
    grant(registry, SID)
    res = CliRunner().invoke(app, ["run"])
    assert res.exit_code == 2
    assert "no capture found" in res.output


def test_the_consent_registry_provides_what_ingest_needs() -> None:
    """Ingest's narrow protocol (``IngestRegistry``) is met by the real registry, method by
    method and parameter by parameter (the protocol no longer shares the registry's name)."""
    import inspect

    from headforge.ingest import ingest as ingest_mod

    assert not hasattr(ingest_mod, "Registry")
    needed = {n for n in vars(ingest_mod.IngestRegistry) if not n.startswith("_")}
    assert needed == {"require_consent", "record_lineage_many", "lineage_for_subject",
                      "delete_lineage", "audit"}
    for name in needed:
        want = list(inspect.signature(getattr(ingest_mod.IngestRegistry, name)).parameters)
        have = list(inspect.signature(getattr(Registry, name)).parameters)
        assert have[:len(want)] == want, name
