"""plan -> preview -> approve -> apply -> verify -> audit, as one call (what the flow does).

The Prefect flow ``forget`` runs the same steps as tasks; this module is the library form used
by tests, benchmarks and the retention sweep.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Callable
from typing import Any, Protocol

from headforge.privacy.forget.apply import (
    ApplyRegistry,
    Journal,
    apply_plan,
    clear_retrain_requests,
)
from headforge.privacy.forget.dvcstore import ObjectStore, open_stores
from headforge.privacy.forget.markers import ContentIndex
from headforge.privacy.forget.model import Action, ApplyResult, ForgetPlan, VerifyResult
from headforge.privacy.forget.plan import (
    RETRAIN_FILE,
    RegistryLike,
    audit_payload,
    build_plan,
    format_plan,
)
from headforge.privacy.forget.settings import ForgetSettings, audit_salt, subject_digest
from headforge.privacy.forget.verify import verify_forgotten
from headforge.privacy.records import AuditEntry


class ForgetRegistry(RegistryLike, ApplyRegistry, Protocol):
    """Everything forget needs of the registry."""

    def audit(self, event: str, payload: dict[str, Any]) -> AuditEntry: ...


@dataclasses.dataclass
class ForgetOutcome:
    """What one forget did. ``status``: dry-run, not-approved, nothing-to-do, forgotten,
    incomplete (verify still found data)."""

    status: str
    plan: ForgetPlan
    preview: str
    resumed: ApplyResult | None = None
    applied: ApplyResult | None = None
    verify: VerifyResult | None = None
    audit: AuditEntry | None = None

    def summary(self) -> dict[str, Any]:
        """Counts and hashes only (safe to log or return from a flow)."""
        out: dict[str, Any] = {"status": self.status, "subject_sha256": self.plan.digest,
                               "counts": self.plan.counts(), "bytes": self.plan.total_bytes,
                               "retrain": self.plan.retrain_stages,
                               "regenerate": self.plan.regenerate}
        if self.applied:
            out["applied"] = {"done": self.applied.done, "skipped": self.applied.skipped,
                              "failed": len(self.applied.failed),
                              "bytes_freed": self.applied.bytes_freed}
        if self.verify:
            out["verify"] = self.verify.summary()
        if self.audit:
            out["audit_seq"] = self.audit.seq
        return out


def known_index(settings: ForgetSettings, subject: str, create_salt: bool) -> tuple[
        Journal, ForgetPlan | None, ContentIndex]:
    """The journal of this subject, its interrupted plan (if any) and every known hash."""
    digest = subject_digest(subject, audit_salt(settings.journal_dir, create=create_salt))
    journal = Journal(settings.journal_dir, digest)
    pending = journal.pending()
    index = ContentIndex()
    if pending is not None:
        index.merge(pending.index)
        index.md5 |= pending.subject_oids
    done = journal.finished_index()
    if done is not None:
        index.merge(done)
    return journal, pending, index


def retrain_stages(settings: ForgetSettings, stages: list[str]) -> None:
    """``dvc repro`` the model stages queued for retraining (subprocess), then clear the
    requests they satisfied. Their upstream stages rerun too when their inputs changed."""
    if not stages:
        return
    res = subprocess.run([sys.executable, "-m", "dvc", "repro", *stages], cwd=settings.root,
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"retraining ({' '.join(stages)}) failed: "
                           f"{(res.stderr or res.stdout)[-2000:]}; the requests stay in "
                           f"results/*/{RETRAIN_FILE} - fix the stage and run `dvc repro`")
    clear_retrain_requests(settings.root, stages)


def finish(settings: ForgetSettings, registry: ForgetRegistry, plan: ForgetPlan,
           applied: ApplyResult, verify: VerifyResult, trigger: str) -> AuditEntry:
    """Write the audit entry and close the journal."""
    counts = {k.replace(".", "_"): v for k, v in plan.counts().items()}
    payload = audit_payload(plan, applied.bytes_freed, verify.ok, counts)
    payload["trigger"] = trigger
    payload["failed"] = len(applied.failed)
    entry = registry.audit("forget.subject" if verify.ok else "forget.incomplete", payload)
    if verify.ok and not applied.failed:
        Journal(settings.journal_dir, plan.digest).finish(plan, {"audit_seq": entry.seq,
                                                                "counts": counts})
    return entry


def forget_subject(settings: ForgetSettings, registry: ForgetRegistry, subject: str, *,
                   scope: str | None = None, dry_run: bool = False,
                   approve: Callable[[ForgetPlan, str], bool] | None = None,
                   echo: Callable[[str], None] | None = None,
                   on_action: Callable[[Action, int], None] | None = None,
                   retrain: Callable[[list[str]], None] | None = None,
                   stores: tuple[ObjectStore | None, list[ObjectStore]] | None = None,
                   trigger: str = "request") -> ForgetOutcome:
    """Forget one subject (or one consent ``scope`` of it) everywhere.

    ``approve(plan, preview)`` decides after the preview (None: approved); ``dry_run`` stops
    after the preview and writes nothing. An interrupted earlier run is finished first.
    """
    stores = stores if stores is not None else open_stores(settings.layout, settings.root)
    others = [s.id for s in registry.subjects() if s.id != subject]
    journal, pending, index = known_index(settings, subject, create_salt=not dry_run)
    resumed = None
    if pending is not None and not dry_run:
        resumed = apply_plan(pending, settings, registry, stores, others, on_action)
    plan = build_plan(settings, registry, subject, scope, index, stores,
                      create_salt=not dry_run)
    if pending is not None:
        for stage, arts in pending.retrain.items():
            plan.retrain.setdefault(stage, sorted(set(arts)))
        plan.retrain_stages = sorted(set(plan.retrain_stages) | set(pending.retrain_stages))
        plan.regenerate = sorted(set(plan.regenerate) | set(pending.regenerate))
        plan.subject_oids |= pending.subject_oids
    preview = format_plan(plan)
    if echo:
        echo(preview)
    if dry_run:
        return ForgetOutcome("dry-run", plan, preview)
    if plan.is_empty and not plan.actions and resumed is None:
        ver = verify_forgotten(settings, registry, plan, stores)
        return ForgetOutcome("nothing-to-do" if ver.ok else "incomplete", plan, preview,
                             verify=ver)
    if approve is not None and resumed is None and not approve(plan, preview):
        return ForgetOutcome("not-approved", plan, preview)
    applied = apply_plan(plan, settings, registry, stores, others, on_action)
    if resumed is not None:
        applied.done += resumed.done
        applied.bytes_freed += resumed.bytes_freed
        applied.failed = resumed.failed + applied.failed
    if retrain is not None and plan.retrain_stages:
        retrain(list(plan.retrain_stages))
    ver = verify_forgotten(settings, registry, plan, stores)
    entry = finish(settings, registry, plan, applied, ver, trigger)
    status = "forgotten" if ver.ok and not applied.failed else "incomplete"
    return ForgetOutcome(status, plan, preview, resumed, applied, ver, entry)
