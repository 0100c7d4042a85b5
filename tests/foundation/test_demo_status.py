from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from headforge.demo import DEMO_SUBJECTS, prepare_demo_inbox
from headforge.privacy import Registry
from headforge.status import collect_status


@pytest.fixture()
def tmp_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "params.yaml").write_text(
        "profile: tiny\npaths:\n  registry_url: sqlite:///registry/r.sqlite\n"
    )
    monkeypatch.setenv("HEADFORGE_ROOT", str(tmp_path))
    monkeypatch.delenv("HEADFORGE_REGISTRY_URL", raising=False)
    return tmp_path


def test_demo_inbox_is_deterministic_and_consented(tmp_project: Path) -> None:
    files = prepare_demo_inbox(tmp_project / "inbox")
    digests = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    mtimes = [f.stat().st_mtime_ns for f in files]
    again = prepare_demo_inbox(tmp_project / "inbox")
    assert [hashlib.sha256(f.read_bytes()).hexdigest() for f in again] == digests
    assert [f.stat().st_mtime_ns for f in again] == mtimes  # untouched: DVC sees no change
    reg = Registry.from_config()
    for s in DEMO_SUBJECTS:
        assert all(reg.has_consent(s.subject_id, sc) for sc in ("capture", "train_prior", "avatar"))
    assert reg.verify_audit().ok


def test_status_reports_outputs_consents_and_dvc_state(tmp_project: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_project, check=True)
    prepare_demo_inbox(tmp_project / "inbox")
    (tmp_project / "results" / "track" / "x").mkdir(parents=True)
    (tmp_project / "results" / "track" / "x" / "a.npz").write_bytes(b"0")
    st = collect_status(tmp_project, Registry.from_config())
    assert st.outputs["results/track"] == 1
    assert st.subjects == 2 and len(st.consents) == 6 and all(c["valid"] for c in st.consents)
    assert st.pending_retention == []
    # not a DVC repository: the status says why instead of failing
    assert "not inside of a DVC repository" in st.dvc_error, st.dvc_error
    assert st.stale == {}
