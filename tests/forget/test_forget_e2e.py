"""End to end on a real git + DVC project with three subjects: forget one, check everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from forget_fixture import (
    REGISTRY_URL,
    SUBJECTS,
    dvc,
    md5_of,
    object_path,
    run,
    subject_files,
    tree_digest,
)

import headforge
from headforge.privacy import Registry, Scope
from headforge.privacy.forget import (
    RETRAIN_FILE,
    ForgetSettings,
    build_plan,
    forget_subject,
    load_settings,
)
from headforge.privacy.forget.dvcstore import parse_dir_listing

GONE, KEPT = "s0001", ["s0002", "s0003"]


def subject_blobs(case: Path, subject: str) -> list[bytes]:
    """Every version of the subject's files: workspace and every cached .dir listing entry."""
    root = case / "proj"
    blobs = {(root / rel).read_bytes() for rel in subject_files(root, subject)}
    cache = root / ".dvc" / "cache"
    for listing in cache.rglob("*.dir"):
        for rel, md5 in parse_dir_listing(listing.read_bytes()):
            if f"{subject}/" in rel or rel.startswith(f"{subject}_"):
                p = object_path(cache, md5)
                if p.is_file():
                    blobs.add(p.read_bytes())
    return sorted(blobs, key=len)


def all_files(case: Path) -> list[Path]:
    """Every file that must hold nothing of the subject (registry and .git excluded)."""
    out = []
    for p in case.rglob("*"):
        rel = p.relative_to(case).as_posix()
        if p.is_file() and not rel.startswith(("proj/.git/", "proj/registry/")):
            out.append(p)
    return out


def test_forget_one_of_three_subjects_everywhere(case: Path, root: Path, reg: Registry,
                                                settings: ForgetSettings) -> None:
    dvc(root, "status")  # DVC's state databases (site cache) now name every subject's paths
    assert any(b"s0001" in p.read_bytes() for p in (case / "site").rglob("*") if p.is_file())
    blobs = subject_blobs(case, GONE)
    assert len(blobs) >= 14
    kept_before = {s: subject_files(root, s) for s in KEPT}
    kept_md5 = {md5_of(root / rel) for s in KEPT for rel in kept_before[s]}
    manifest_before = pd.read_parquet(root / "data/captures/manifest.parquet")

    out = forget_subject(settings, reg, GONE)

    assert out.status == "forgotten", out.verify
    assert out.verify is not None and out.verify.ok and not out.verify.hits
    assert out.verify.checked["remote"] > 0 and out.verify.checked["run-cache"] > 0
    # independent check: no byte sequence of any version of the subject's files, and not
    # the pseudonym, in workspace, DVC cache, remote, run-caches, Prefect storage, DVC state
    for p in all_files(case):
        data = p.read_bytes()
        assert b"s0001" not in data, p
        assert not any(b in data for b in blobs), p
        assert "s0001" not in p.relative_to(case).as_posix()
    # the other subjects: byte-identical files, their objects still in cache and remote
    assert {s: subject_files(root, s) for s in KEPT} == kept_before
    for md5 in kept_md5:
        assert object_path(root / ".dvc/cache", md5).is_file()
        assert object_path(case / "remote", md5).is_file()
    manifest = pd.read_parquet(root / "data/captures/manifest.parquet")
    pd.testing.assert_frame_equal(
        manifest, manifest_before[manifest_before.subject != GONE].reset_index(drop=True))
    # the adaptation trained on the subject is gone and queued for retraining without it
    assert not (root / "results/train_prior/adapted").exists()
    assert (root / "results/train_prior/base/model.npy").is_file()  # synthetic-only prior kept
    req = json.loads((root / "results/train_prior" / RETRAIN_FILE).read_text())
    assert req["stages"] == ["train_prior_adapt"]
    assert req["artifacts"] == ["results/train_prior/adapted/card.json",
                                "results/train_prior/adapted/model.npy"]
    assert out.plan.retrain_stages == ["train_prior_adapt"]
    # registry: no lineage, consent withdrawn, audit chain intact and free of the id
    assert reg.lineage_for_subject(GONE) == []
    assert not reg.has_consent(GONE, Scope.CAPTURE)
    assert all(reg.has_consent(s, Scope.CAPTURE) for s in KEPT)
    assert reg.verify_audit().ok
    entry = reg.audit_entries()[-1]
    assert entry.event == "forget.subject" and entry.seq == out.audit.seq  # type: ignore[union-attr]
    assert GONE not in json.dumps(entry.payload) and entry.payload["verified"] is True
    assert entry.payload["subject_sha256"] == out.plan.digest
    # the journal keeps counts and hashes only
    for p in settings.journal_dir.iterdir():
        assert b"s0001" not in p.read_bytes() and "s0001" not in p.name

    # the pipeline still reproduces: the adaptation is retrained on the two others
    dvc(root, "repro")
    assert json.loads((root / "results/train_prior/adapted/card.json").read_text()) == {
        "n_subjects": 2}
    assert {s: subject_files(root, s) for s in KEPT} == kept_before
    assert "Data and pipelines are up to date" in dvc(root, "status")
    metrics = json.loads((root / "results/evaluate/metrics.json").read_text())
    assert sorted(metrics["per_subject"]) == KEPT
    assert forget_subject(settings, reg, GONE).status == "nothing-to-do"


def test_dry_run_changes_nothing(case: Path, root: Path, reg: Registry,
                                 settings: ForgetSettings) -> None:
    dvc(root, "status")
    n_audit = len(reg.audit_entries())
    before = tree_digest(case, skip=("proj/.dvc/tmp/",))
    out = forget_subject(settings, reg, GONE, dry_run=True)
    assert out.status == "dry-run" and out.applied is None
    assert tree_digest(case, skip=("proj/.dvc/tmp/",)) == before
    assert not settings.journal_dir.exists()
    assert len(reg.audit_entries()) == n_audit and reg.has_consent(GONE, Scope.CAPTURE)
    # the preview says what apply would do
    assert "retrain train_prior" in out.preview and "dvc repro train_prior_adapt" in out.preview
    counts = out.plan.counts()
    assert counts["workspace.delete"] >= 10 and counts["remote.delete_object"] > 0
    assert counts["run-cache.delete_run"] > 0 and counts["prefect.delete"] == 1


def test_crash_mid_apply_then_rerun_finishes(case: Path, root: Path, reg: Registry,
                                            settings: ForgetSettings) -> None:
    src = str(Path(headforge.__file__).resolve().parents[1])
    script = f"""
import os, sys
sys.path.insert(0, {src!r})
from pathlib import Path
from headforge.privacy import Registry
from headforge.privacy.forget import forget_subject, load_settings
root = Path({str(root)!r})
st = load_settings(root, prefect_storage=[Path({str(case / "prefect")!r})])
reg = Registry.from_url({REGISTRY_URL!r}, root=root)
def crash(action, n):
    if n >= 25:
        os._exit(17)
forget_subject(st, reg, "s0001", on_action=crash)
"""
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=dict(os.environ))
    assert res.returncode == 17, res.stderr
    plan_files = list(settings.journal_dir.glob("*.plan.json"))
    assert len(plan_files) == 1
    done = plan_files[0].with_name(plan_files[0].name.replace(".plan.json", ".done"))
    assert len(done.read_text().split()) == 25
    assert reg.lineage_for_subject(GONE)  # registry steps come last: not reached
    left_before = len(build_plan(settings, reg, GONE).data_actions)
    assert left_before > 0  # half done

    out = forget_subject(settings, reg, GONE)
    assert out.status == "forgotten" and out.verify is not None and out.verify.ok
    assert out.resumed is not None and out.resumed.skipped == 25
    assert not list(settings.journal_dir.glob("*.plan.json"))
    assert (root / "results/train_prior" / RETRAIN_FILE).is_file()
    assert reg.verify_audit().ok
    n_audit = len(reg.audit_entries())
    again = forget_subject(settings, reg, GONE)  # a second run is a no-op
    assert again.status == "nothing-to-do" and again.verify is not None and again.verify.ok
    assert len(reg.audit_entries()) == n_audit


def test_scoped_forget_retrains_without_touching_captures(case: Path, root: Path,
                                                           reg: Registry,
                                                           settings: ForgetSettings) -> None:
    captures = subject_files(root, "s0002")
    out = forget_subject(settings, reg, "s0002", scope="train_prior")
    assert out.status == "forgotten", out.verify
    assert subject_files(root, "s0002") == captures  # capture consent still holds
    assert not (root / "results/train_prior/adapted").exists()
    assert out.plan.retrain_stages == ["train_prior_adapt"]
    assert not reg.has_consent("s0002", Scope.TRAIN_PRIOR)
    assert reg.has_consent("s0002", Scope.CAPTURE)
    assert [r.stage for r in reg.lineage_for_subject("s0002")].count("train_prior") == 0


def test_files_committed_to_git_fail_verify_with_the_fix(case: Path, root: Path,
                                                         reg: Registry,
                                                         settings: ForgetSettings) -> None:
    note = root / "results" / "qa" / "s0001_note.txt"
    note.parent.mkdir(parents=True)
    note.write_text("QA notes\n")
    run(["git", "add", "-f", str(note)], root)
    run(["git", "commit", "-q", "-m", "qa note"], root)
    out = forget_subject(settings, reg, GONE)
    assert out.status == "incomplete"
    assert out.verify is not None
    git_hits = [h for h in out.verify.hits if h.store == "git"]
    assert [h.target for h in git_hits] == ["results/qa/s0001_note.txt"]
    assert "git filter-repo" in git_hits[0].reason
    assert any("git history" in r for r in out.plan.review)
    assert not note.exists()  # the working copy is deleted all the same
    assert reg.verify_audit().ok and reg.audit_entries()[-1].event == "forget.incomplete"


def test_unknown_subject_is_empty_and_bad_input_refused(settings: ForgetSettings,
                                                  reg: Registry) -> None:
    from headforge.privacy import InvalidInputError

    unknown = build_plan(settings, reg, "s0999", create_salt=False)  # e.g. a typo
    assert unknown.is_empty and any("not in the registry" in n for n in unknown.notes)
    with pytest.raises(InvalidInputError, match="pseudonym"):
        build_plan(settings, reg, "Alice Smith", create_salt=False)
    with pytest.raises(InvalidInputError, match="unknown consent scope"):
        build_plan(settings, reg, GONE, scope="everything", create_salt=False)


def test_settings_read_dvc_config(root: Path, case: Path) -> None:
    st = load_settings(root, prefect_storage=[case / "prefect"])
    assert st.layout.cache_dir == root / ".dvc" / "cache"
    assert Path(st.layout.remotes["local"]["url"]) == (case / "remote").resolve()
    assert st.stage_of("results/train_prior/adapted/model.npy") == "train_prior_adapt"
    assert st.stage_of("data/captures/s0001/frame_000.png") == "ingest"
    assert SUBJECTS[0] == GONE


def test_bytes_shared_with_another_subject_are_kept(case: Path, root: Path, reg: Registry,
                                                   settings: ForgetSettings) -> None:
    calib = b'{"rig": "booth-2", "K": [[600, 0, 20], [0, 600, 20], [0, 0, 1]]}\n'
    for s in ("s0001", "s0002"):
        (root / "inbox" / s / "calib.json").write_bytes(calib)
    dvc(root, "add", "-q", "inbox")
    dvc(root, "push", "-q")
    md5 = md5_of(root / "inbox/s0002/calib.json")
    out = forget_subject(settings, reg, GONE)
    assert out.status == "forgotten" and out.plan.shared_kept >= 1
    assert md5 not in out.plan.subject_oids
    assert not (root / "inbox/s0001").exists()
    assert (root / "inbox/s0002/calib.json").read_bytes() == calib
    assert object_path(root / ".dvc/cache", md5).is_file()
    assert object_path(case / "remote", md5).is_file()
