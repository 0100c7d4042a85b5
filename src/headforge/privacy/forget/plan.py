"""Plan and preview the deletion of one subject (nothing is changed here)."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path
from typing import Protocol

from headforge.privacy.forget.dvcstore import ObjectStore, open_stores
from headforge.privacy.forget.markers import ContentIndex, Markers
from headforge.privacy.forget.model import Action, ForgetPlan, Kind
from headforge.privacy.forget.places import visited
from headforge.privacy.forget.scan import Detection, ScanContext, detect
from headforge.privacy.forget.settings import ForgetSettings, audit_salt, subject_digest
from headforge.privacy.records import (
    Consent,
    InvalidInputError,
    LineageRecord,
    Subject,
    check_subject_id,
    parse_scope,
)

RETRAIN_FILE = "RETRAIN_REQUESTED.json"
"""Written into ``results/<stage>/`` for each model stage that must be retrained."""


class RegistryLike(Protocol):
    """The part of :class:`headforge.privacy.Registry` that forget uses."""

    def subjects(self) -> list[Subject]: ...
    def consents(self, subject_id: str | None = None) -> list[Consent]: ...
    def lineage_for_subject(self, subject_id: str) -> list[LineageRecord]: ...
    def lineage_for_artifact(self, path: str | Path) -> list[LineageRecord]: ...


def scope_lineage(lineage: list[LineageRecord], settings: ForgetSettings,
                  scope: str | None) -> list[LineageRecord]:
    """The lineage records a forget of ``scope`` covers (all for None or ``capture``)."""
    if scope is None or scope == "capture":
        return lineage
    stages = set(settings.config.scope_stages.get(scope, []))
    if not stages:
        raise InvalidInputError(
            f"consent scope {scope!r} names no stages: add it to retention.scope_stages in "
            "params.yaml, or forget the subject entirely (no scope)")
    return [r for r in lineage if r.stage in stages]


def open_context(settings: ForgetSettings, registry: RegistryLike, subject: str,
                 scope: str | None, index: ContentIndex | None = None,
                 stores: tuple[ObjectStore | None, list[ObjectStore]] | None = None,
                 ) -> ScanContext:
    """Markers, stores and lineage for one subject."""
    known = [s.id for s in registry.subjects()]
    markers = Markers.build(subject, known)
    if index is not None:
        markers.index.merge(index)
    cache, remotes = stores if stores is not None else open_stores(settings.layout, settings.root)
    lineage = scope_lineage(registry.lineage_for_subject(subject), settings, scope)
    return ScanContext(settings, markers, cache, remotes, lineage,
                       scoped=scope not in (None, "capture"))


@dataclasses.dataclass
class PlanContext:
    """What a place's ``plan`` step sees: the scan's findings and where the forget stands."""

    settings: ForgetSettings
    registry: RegistryLike
    subject: str
    scope: str | None
    scan: ScanContext
    det: Detection
    retrain: dict[str, list[str]]
    """Model stage -> model artifacts deleted because they were trained on the subject."""
    notes: list[str]
    """The plan's notes (a place may add its own)."""
    review: list[str]
    """Items for a person to review (a place may add its own)."""

    @property
    def found(self) -> list[Action]:
        """The data actions every place's scan found."""
        return self.det.actions


def build_plan(settings: ForgetSettings, registry: RegistryLike, subject: str,
               scope: str | None = None, index: ContentIndex | None = None,
               stores: tuple[ObjectStore | None, list[ObjectStore]] | None = None,
               create_salt: bool = True) -> ForgetPlan:
    """Plan every action that removes ``subject`` (or, with ``scope``, what that scope covered).

    ``index`` adds content hashes/fragments known from an earlier (interrupted) run, whose
    files may already be gone. Nothing is modified, except that the audit salt is created when
    ``create_salt`` (a dry run passes False).
    """
    check_subject_id(subject)
    if scope is not None:
        scope = parse_scope(scope).value
    ctx = open_context(settings, registry, subject, scope, index, stores)
    det = detect(ctx)
    if subject not in {s.id for s in registry.subjects()}:
        det.notes.append(f"{subject} is not in the registry (data without consent, or a typo: "
                         "check `headforge consent list`)")
    actions = list(det.actions)
    retrain: dict[str, list[str]] = {}
    for a in actions:
        if a.kind is Kind.DELETE_MODEL and a.stage:
            retrain.setdefault(a.stage, []).append(a.target)
    queued = [t for ts in retrain.values() for t in ts]
    for r in ctx.lineage:  # models whose files an interrupted run already deleted
        if len(r.subject_ids) > 1 and r.stage in settings.config.model_stages and not any(
                t == r.artifact or t.startswith(r.artifact + "/") for t in queued):
            retrain.setdefault(r.stage, []).append(r.artifact)
    pc = PlanContext(settings, registry, subject, scope, ctx, det, retrain, det.notes,
                     list(det.review))
    for place in visited(ctx.scoped):
        if place.plan is not None:
            actions += place.plan(pc)
    regenerate = sorted({a.stage for a in actions if a.store == "workspace" and a.stage
                         and a.kind is not Kind.QUEUE_RETRAIN} - set(retrain))
    retrain_stages = sorted({settings.stage_of(a) or s for s, arts in retrain.items()
                             for a in arts})
    salt = audit_salt(settings.journal_dir, create=create_salt)
    return ForgetPlan(subject=subject, digest=subject_digest(subject, salt), scope=scope,
                      actions=actions, index=ctx.markers.index,
                      subject_oids=det.subject_oids, retrain=retrain, regenerate=regenerate,
                      retrain_stages=retrain_stages,
                      shared_kept=len(det.shared), review=pc.review, notes=pc.notes,
                      revisions=det.catalogue.revisions if det.catalogue else 0)


def _human(n: int) -> str:
    f = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if f < 1024 or unit == "GiB":
            return f"{f:.0f} {unit}" if unit == "B" else f"{f:.1f} {unit}"
        f /= 1024
    return f"{n} B"


def format_plan(plan: ForgetPlan, limit: int = 12, private: bool = False) -> str:
    """The preview a person approves: counts, bytes, what is retrained, sample targets.

    ``private``: name the subject by its salted digest and list no paths (for places that
    keep the text, such as a Prefect approval form).
    """
    who = plan.digest[:12] if private else plan.subject
    what = f"subject {who}" + (f" (scope {plan.scope})" if plan.scope else "")
    lines = [f"forget {what}: {len(plan.data_actions)} data action(s), "
             f"{_human(plan.total_bytes)} "
             f"(history: {plan.revisions} dvc file version(s) read)"]
    if plan.is_empty:
        lines.append("  nothing of this subject is left anywhere")
    for store, n in plan.bytes_by_store().items():
        count = sum(1 for a in plan.data_actions if a.store_name.family == store)
        lines.append(f"  {store:<10} {count:>6} item(s) {_human(n):>10}")
    by_kind = plan.counts()
    lines.append("  actions: " + ", ".join(f"{k}={v}" for k, v in by_kind.items()))
    if plan.retrain:
        for stage, arts in sorted(plan.retrain.items()):
            lines.append(f"  retrain {stage} without the subject (deletes {len(arts)} "
                         f"model artifact(s): {', '.join(arts[:3])}{' ...' if len(arts) > 3 else ''})")
        lines.append("  retraining: dvc repro " + " ".join(plan.retrain_stages))
    if plan.regenerate:
        lines.append("  rerun with `dvc repro`: " + ", ".join(plan.regenerate))
    if plan.shared_kept:
        lines.append(f"  kept {plan.shared_kept} object(s) byte-identical to other subjects' files")
    if private:
        if plan.review:
            lines.append(f"  REVIEW: {len(plan.review)} item(s) need a person (see the log)")
        return "\n".join(lines)
    for r in plan.review:
        lines.append(f"  REVIEW (needs a person): {r}")
    for note in plan.notes:
        lines.append(f"  note: {note}")
    ws = [a for a in plan.data_actions if a.store == "workspace"]
    for a in ws[:limit]:
        lines.append(f"    {a.kind.value:<16} {a.target}")
    if len(ws) > limit:
        lines.append(f"    ... and {len(ws) - limit} more workspace item(s)")
    return "\n".join(lines)


_SAFE = re.compile(r"^[0-9a-f]{64}$")


def audit_payload(plan: ForgetPlan, bytes_freed: int, verified: bool,
                  event_counts: dict[str, int]) -> dict[str, object]:
    """The audit entry of a forget: counts and hashes only, never the id or paths."""
    assert _SAFE.match(plan.digest)
    hashes = sorted(plan.index.sha256) + sorted(plan.subject_oids)
    return {
        "subject_sha256": plan.digest,
        "scope": plan.scope or "all",
        "counts": event_counts,
        "bytes": bytes_freed,
        "content_hashes": len(hashes),
        "content_hashes_sha256": hashlib.sha256("\n".join(hashes).encode()).hexdigest(),
        "retrain": plan.retrain_stages,
        "regenerate": plan.regenerate,
        "verified": verified,
    }
