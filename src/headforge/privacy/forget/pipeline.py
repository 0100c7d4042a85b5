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


@dataclasses.dataclass
class Resume:
    """What is known from earlier runs of the same subject's forget."""

    pending: ForgetPlan | None
    """The plan of an interrupted run (None: none)."""
    applied: ApplyResult | None
    """What finishing that plan did in this run (None: not finished here)."""
    index: ContentIndex
    """Every content hash (and fragment) known from earlier runs."""


def resume_pending(settings: ForgetSettings, registry: ForgetRegistry, subject: str,
                   stores: tuple[ObjectStore | None, list[ObjectStore]], *,
                   dry_run: bool = False,
                   on_action: Callable[[Action, int], None] | None = None) -> Resume:
    """Finish the plan of an interrupted run (unless ``dry_run``); collect known hashes."""
    digest = subject_digest(subject, audit_salt(settings.journal_dir, create=not dry_run))
    journal = Journal(settings.journal_dir, digest)
    pending = journal.pending()
    index = ContentIndex()
    if pending is not None:
        index.merge(pending.index)
        index.md5 |= pending.subject_oids
    done = journal.finished_index()
    if done is not None:
        index.merge(done)
    applied = None
    if pending is not None and not dry_run:
        applied = apply_plan(pending, settings, registry, stores, _others(registry, subject),
                             on_action)
    return Resume(pending, applied, index)


def _others(registry: RegistryLike, subject: str) -> list[str]:
    return [s.id for s in registry.subjects() if s.id != subject]


def plan_subject(settings: ForgetSettings, registry: ForgetRegistry, subject: str,
                 scope: str | None, resume: Resume,
                 stores: tuple[ObjectStore | None, list[ObjectStore]],
                 create_salt: bool = True) -> ForgetPlan:
    """:func:`build_plan` with what the interrupted run (if any) had planned merged in."""
    plan = build_plan(settings, registry, subject, scope, resume.index, stores,
                      create_salt=create_salt)
    pending = resume.pending
    if pending is not None:
        for stage, arts in pending.retrain.items():
            plan.retrain.setdefault(stage, sorted(set(arts)))
        plan.retrain_stages = sorted(set(plan.retrain_stages) | set(pending.retrain_stages))
        plan.regenerate = sorted(set(plan.regenerate) | set(pending.regenerate))
        plan.subject_oids |= pending.subject_oids
    return plan


def needs_apply(plan: ForgetPlan, resume: Resume) -> bool:
    """False when there is nothing at all to do (a repeated forget)."""
    return bool(plan.actions) or resume.applied is not None


def apply_subject(settings: ForgetSettings, registry: ForgetRegistry, plan: ForgetPlan,
                  resume: Resume, stores: tuple[ObjectStore | None, list[ObjectStore]],
                  on_action: Callable[[Action, int], None] | None = None) -> ApplyResult:
    """Apply the plan; the result includes what finishing an interrupted run did."""
    applied = apply_plan(plan, settings, registry, stores, _others(registry, plan.subject),
                         on_action)
    if resume.applied is not None:
        applied.done += resume.applied.done
        applied.skipped += resume.applied.skipped
        applied.bytes_freed += resume.applied.bytes_freed
        applied.failed = resume.applied.failed + applied.failed
        applied.retrain_requests = sorted(set(applied.retrain_requests)
                                          | set(resume.applied.retrain_requests))
    return applied


def pipeline_order(settings: ForgetSettings, stages: list[str]) -> list[str]:
    """``stages`` in the order ``dvc.yaml`` lists them (unknown ones last, sorted)."""
    order = list(dict.fromkeys(settings.stage_outs.values()))
    rank = {s: i for i, s in enumerate(order)}
    return sorted(set(stages), key=lambda s: (rank.get(s, len(rank)), s))


def retrain_stages(settings: ForgetSettings, stages: list[str]) -> None:
    """Retrain the model stages queued by a forget, then clear the requests they satisfied.

    ``dvc repro --single-item`` of each stage in pipeline order (subprocess): the models are
    retrained on the data as the forget left it, and upstream stages are not rerun (their
    outputs already lack the subject; ``dvc repro`` refreshes them and their shared outputs
    later, e.g. the next scheduled pipeline run).
    """
    if not stages:
        return
    ordered = pipeline_order(settings, stages)
    for stage in ordered:
        res = subprocess.run([sys.executable, "-m", "dvc", "repro", "--single-item", stage],
                             cwd=settings.root, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"retraining {stage} failed: {(res.stderr or res.stdout)[-2000:]}; "
                               f"the requests stay in results/*/{RETRAIN_FILE}: fix the stage "
                               f"and run `dvc repro {stage}`")
    clear_retrain_requests(settings.root, ordered)


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
    resume = resume_pending(settings, registry, subject, stores, dry_run=dry_run,
                            on_action=on_action)
    plan = plan_subject(settings, registry, subject, scope, resume, stores,
                        create_salt=not dry_run)
    preview = format_plan(plan)
    if echo:
        echo(preview)
    if dry_run:
        return ForgetOutcome("dry-run", plan, preview)
    if not needs_apply(plan, resume):
        ver = verify_forgotten(settings, registry, plan, stores)
        return ForgetOutcome("nothing-to-do" if ver.ok else "incomplete", plan, preview,
                             verify=ver)
    if approve is not None and resume.applied is None and not approve(plan, preview):
        return ForgetOutcome("not-approved", plan, preview)
    applied = apply_subject(settings, registry, plan, resume, stores, on_action)
    if retrain is not None and plan.retrain_stages:
        retrain(list(plan.retrain_stages))
    ver = verify_forgotten(settings, registry, plan, stores)
    entry = finish(settings, registry, plan, applied, ver, trigger)
    return ForgetOutcome(outcome_status(applied, ver), plan, preview, resume.applied, applied,
                         ver, entry)


def outcome_status(applied: ApplyResult, verify: VerifyResult) -> str:
    """``forgotten`` when everything was applied and verify found nothing, else ``incomplete``."""
    return "forgotten" if verify.ok and not applied.failed else "incomplete"
