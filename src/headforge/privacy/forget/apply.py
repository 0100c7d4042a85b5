"""Carry out a plan, idempotently, with a journal so an interrupted run can finish the job.

The journal (``<journal_dir>/<digest16>.plan.json`` + ``.done``) holds the plan and the ids of
completed actions while a deletion is under way; it necessarily names paths of the subject, so
it lives outside every scanned folder and is replaced, on completion, by a record of counts and
hashes only (``<digest16>.json``).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from headforge.io_utils import atomic_path, sha256_file, write_text_atomic
from headforge.privacy.forget.dvcstore import ObjectStore, open_stores
from headforge.privacy.forget.markers import ContentIndex, pseudonym_pattern
from headforge.privacy.forget.model import Action, ApplyResult, ForgetPlan, Kind, StoreName
from headforge.privacy.forget.places import place_of
from headforge.privacy.forget.plan import RETRAIN_FILE
from headforge.privacy.forget.settings import ForgetSettings
from headforge.privacy.records import LineageRecord


class ApplyRegistry(Protocol):
    """Registry calls made while applying."""

    def lineage_for_artifact(self, path: str | Path) -> list[LineageRecord]: ...
    def record_lineage(self, artifact: str | Path, sha256: str, stage: str,
                       subject_ids: list[str]) -> None: ...
    def delete_lineage(self, artifacts: list[str]) -> int: ...
    def withdraw(self, subject_id: str, scope: str | None = None) -> int: ...


class Journal:
    """Plan + completed action ids of one subject's deletion, on disk."""

    def __init__(self, journal_dir: Path, digest: str) -> None:
        self.dir = journal_dir
        stem = digest[:16]
        self.plan_path = journal_dir / f"{stem}.plan.json"
        self.done_path = journal_dir / f"{stem}.done"
        self.record_path = journal_dir / f"{stem}.json"

    def pending(self) -> ForgetPlan | None:
        """The plan of an interrupted run, if any."""
        if not self.plan_path.is_file():
            return None
        return plan_from_json(json.loads(self.plan_path.read_text()))

    def finished_index(self) -> ContentIndex | None:
        """Content hashes recorded by an earlier completed run (for re-verification)."""
        if not self.record_path.is_file():
            return None
        rec = json.loads(self.record_path.read_text())
        idx = ContentIndex.from_json(rec.get("index", {}))
        idx.md5 |= set(rec.get("subject_oids", []))
        return idx

    def begin(self, plan: ForgetPlan) -> set[str]:
        """Write the plan; returns the ids already done when resuming this same plan."""
        self.dir.mkdir(parents=True, exist_ok=True)
        ids = sorted(a.id for a in plan.actions)
        old = self.pending()
        if old is not None and sorted(a.id for a in old.actions) == ids:
            return self.done_ids()
        write_text_atomic(self.plan_path, json.dumps(plan_to_json(plan)))
        self.done_path.write_text("")
        for p in (self.plan_path, self.done_path):  # names the subject's files until finished
            os.chmod(p, 0o600)
        return set()

    def done_ids(self) -> set[str]:
        if not self.done_path.is_file():
            return set()
        return {ln.strip() for ln in self.done_path.read_text().splitlines() if ln.strip()}

    def mark(self, action_id: str) -> None:
        with open(self.done_path, "a") as f:
            f.write(action_id + "\n")
            f.flush()
            os.fsync(f.fileno())

    def finish(self, plan: ForgetPlan, summary: dict[str, Any]) -> None:
        """Replace the journal by a record without paths, ids or content fragments."""
        rec = dict(summary, digest=plan.digest, finished_at=datetime.now(UTC).isoformat(),
                   index=plan.index.to_json(with_fragments=False),
                   subject_oids=sorted(plan.subject_oids))
        write_text_atomic(self.record_path, json.dumps(rec, indent=1))
        self.plan_path.unlink(missing_ok=True)
        self.done_path.unlink(missing_ok=True)


def plan_to_json(plan: ForgetPlan) -> dict[str, Any]:
    return {"subject": plan.subject, "digest": plan.digest, "scope": plan.scope,
            "actions": [a.to_json() for a in plan.actions],
            "index": plan.index.to_json(with_fragments=True),
            "subject_oids": sorted(plan.subject_oids), "retrain": plan.retrain,
            "retrain_stages": plan.retrain_stages, "regenerate": plan.regenerate}


def plan_from_json(d: dict[str, Any]) -> ForgetPlan:
    return ForgetPlan(subject=d["subject"], digest=d["digest"], scope=d.get("scope"),
                      actions=[Action.from_json(a) for a in d["actions"]],
                      index=ContentIndex.from_json(d["index"]),
                      subject_oids=set(d.get("subject_oids", [])),
                      retrain={k: list(v) for k, v in d.get("retrain", {}).items()},
                      retrain_stages=list(d.get("retrain_stages", [])),
                      regenerate=list(d.get("regenerate", [])))


# ------------------------------------------------------------------------------ executors
def remove_path(p: Path) -> int:
    """Remove a file or folder (read-only files too); returns the bytes it held."""
    if p.is_symlink() or p.is_file():
        size = p.lstat().st_size
        try:
            p.unlink()
        except PermissionError:
            os.chmod(p, 0o600)
            p.unlink()
        return size
    if p.is_dir():
        size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        shutil.rmtree(p)
        return size
    return 0


def prune_empty(p: Path, stop: set[Path]) -> None:
    """Remove empty folders above ``p`` up to (not including) a scan root."""
    d = p.parent
    while d not in stop and d != d.parent:
        try:
            d.rmdir()
        except OSError:
            return
        d = d.parent


def rewrite_manifest(path: Path, subject: str, others: list[str]) -> int:
    """Rewrite a Parquet manifest without the rows of ``subject``; returns rows removed.

    A row is the subject's when its ``subject`` column equals the id or any text cell names it
    (e.g. a ``path`` under ``data/captures/<id>/``). Other rows keep their values and order.
    """
    df = pd.read_parquet(path)
    pat = pseudonym_pattern(subject, others)
    drop = pd.Series(False, index=df.index)
    if "subject" in df.columns:
        drop |= df["subject"].astype("string") == subject
    for col in df.columns:
        if df[col].dtype == object or str(df[col].dtype).startswith("string"):
            drop |= df[col].map(lambda v: isinstance(v, str) and bool(pat.search(v.encode())))
    removed = int(drop.sum())
    if removed == 0:
        return 0
    keep = df.loc[~drop]
    if isinstance(df.index, pd.RangeIndex):
        keep = keep.reset_index(drop=True)
    with atomic_path(path) as tmp:
        keep.to_parquet(tmp)
    return removed


def redact_lines(path: Path, subject: str, others: list[str]) -> int:
    """Rewrite a text file without the lines naming ``subject``; returns lines removed."""
    pat = pseudonym_pattern(subject, others)
    lines = path.read_bytes().splitlines(keepends=True)
    kept = [ln for ln in lines if not pat.search(ln)]
    if len(kept) == len(lines):
        return 0
    with atomic_path(path) as tmp:
        tmp.write_bytes(b"".join(kept))
    return len(lines) - len(kept)


def queue_retrain(root: Path, action: Action, digest: str, stages: list[str]) -> Path:
    """Write (or extend) ``results/<stage>/RETRAIN_REQUESTED.json`` (no personal data).

    The request lists the deleted model artifacts and the DVC ``stages`` that rebuild them;
    :func:`clear_retrain_requests` removes it once they have run.
    """
    path = root / action.target
    doc: dict[str, Any] = {"stage": action.stage, "artifacts": [], "requests": []}
    if path.is_file():
        doc = json.loads(path.read_text())
    doc["artifacts"] = sorted(set(doc.get("artifacts", [])) | set(action.data))
    doc["stages"] = sorted(set(doc.get("stages", [])) | set(stages))
    reqs = doc.setdefault("requests", [])
    if not any(r.get("subject_sha256") == digest for r in reqs):
        reqs.append({"subject_sha256": digest, "reason": "forget",
                     "requested_at": datetime.now(UTC).isoformat(timespec="seconds")})
    doc["command"] = "dvc repro " + " ".join(doc["stages"])
    write_text_atomic(path, json.dumps(doc, indent=1) + "\n")
    return path


def pending_retrain_requests(root: Path) -> list[Path]:
    """Retraining requests still waiting (``results/*/RETRAIN_REQUESTED.json``)."""
    return sorted((root / "results").glob(f"*/{RETRAIN_FILE}"))


def clear_retrain_requests(root: Path, done_stages: list[str]) -> list[Path]:
    """Remove the requests whose stages have all been rerun; returns those removed."""
    removed = []
    for p in pending_retrain_requests(root):
        stages = set(json.loads(p.read_text()).get("stages", []))
        if stages and stages <= set(done_stages):
            p.unlink()
            removed.append(p)
            if not any(p.parent.iterdir()):  # results/<stage>/ made only for the request
                p.parent.rmdir()
    return removed


class Applier:
    """Runs the actions of one plan against one project: each by the step of its place."""

    def __init__(self, plan: ForgetPlan, settings: ForgetSettings, registry: ApplyRegistry,
                 stores: tuple[ObjectStore | None, list[ObjectStore]] | None = None,
                 others: list[str] | None = None) -> None:
        self.plan, self.settings, self.registry = plan, settings, registry
        cache, remotes = stores if stores is not None else open_stores(settings.layout,
                                                                      settings.root)
        self.cache = cache
        self.remotes = {r.name: r for r in remotes}
        self.others = others or []
        """The other subjects' ids (never matched by the subject's pseudonym pattern)."""
        self.stop = {(settings.root / p).resolve() for p in settings.config.scan_paths}
        """Folders that emptied folders are pruned up to (the scan roots and the root)."""
        self.stop.add(settings.root.resolve())

    def run(self, action: Action) -> int:
        """Do one action with its place's ``apply``; returns bytes freed."""
        place = place_of(action.store)
        if place.apply is None:
            raise ValueError(f"place {place.name!r} has no apply step for {action.kind.value}")
        return place.apply(self, action)

    def object_store(self, name: StoreName) -> ObjectStore:
        """The DVC store called ``cache`` or ``remote:<name>`` in the plan."""
        store = self.cache if name == StoreName("cache") else (
            self.remotes.get(name.detail) if name.family == "remote" else None)
        if store is None:
            raise RuntimeError(f"store {str(name)!r} of the plan is no longer configured: "
                               "restore it in .dvc/config or forget again to re-plan")
        return store

    def rewrite(self, a: Action) -> int:
        """Rewrite a workspace manifest without the subject's rows; its lineage follows."""
        p = self.settings.root / a.target
        if not p.is_file():
            return 0
        before = p.stat().st_size
        if rewrite_manifest(p, self.plan.subject, self.others) == 0:
            return 0
        for rec in self.registry.lineage_for_artifact(a.target):
            sids = [s for s in rec.subject_ids if s != self.plan.subject]
            self.registry.record_lineage(a.target, sha256_file(p), rec.stage, sids)
        return max(0, before - p.stat().st_size)


def apply_plan(plan: ForgetPlan, settings: ForgetSettings, registry: ApplyRegistry,
               stores: tuple[ObjectStore | None, list[ObjectStore]] | None = None,
               others: list[str] | None = None,
               on_action: Callable[[Action, int], None] | None = None) -> ApplyResult:
    """Apply ``plan`` (resuming its journal); ``on_action(action, n_done)`` follows each step.

    Data actions that fail are reported and the lineage deletion is then held back, so that a
    rerun can still find what is left; the consent is withdrawn in any case.
    """
    journal = Journal(settings.journal_dir, plan.digest)
    done_before = journal.begin(plan)
    applier = Applier(plan, settings, registry, stores, others)
    res = ApplyResult(done=0, skipped=0, bytes_freed=0)
    for a in plan.actions:
        if a.id in done_before:
            res.skipped += 1
            continue
        if a.kind is Kind.DELETE_LINEAGE and res.failed:
            continue
        try:
            res.bytes_freed += applier.run(a)
        except Exception as e:  # keep erasing what can be erased; verify reports the rest
            res.failed.append(f"{a.kind.value} {a.store}: {type(e).__name__}: {e}")
            continue
        journal.mark(a.id)
        res.done += 1
        if a.kind is Kind.QUEUE_RETRAIN:
            res.retrain_requests.append(a.target)
        if on_action is not None:
            on_action(a, res.done)
    return res
