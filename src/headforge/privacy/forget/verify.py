"""After a deletion: scan everything again; the subject must be found nowhere."""

from __future__ import annotations

from headforge.privacy.forget.dvcstore import ObjectStore, open_stores
from headforge.privacy.forget.model import ForgetPlan, Hit, VerifyResult
from headforge.privacy.forget.plan import RegistryLike, open_context
from headforge.privacy.forget.prefect_runs import orphan_log_hit, own_run_hit
from headforge.privacy.forget.scan import detect, recreated_by_others
from headforge.privacy.forget.settings import ForgetSettings


def verify_forgotten(settings: ForgetSettings, registry: RegistryLike, plan: ForgetPlan,
                     stores: tuple[ObjectStore | None, list[ObjectStore]] | None = None,
                     ) -> VerifyResult:
    """Re-scan workspace, cache, remotes, run-caches, Prefect storage and API, DVC state.

    Uses the plan's content index (hashes and fragments of files that no longer exist), checks
    that none of the plan's object ids is left in any store, and that the registry holds no
    lineage of the subject (for a scoped forget: none of that scope's stages).
    """
    stores = stores if stores is not None else open_stores(settings.layout, settings.root)
    ctx = open_context(settings, registry, plan.subject, plan.scope, plan.index, stores)
    det = detect(ctx)
    hits = [Hit(a.store, a.target, a.reason) for a in det.actions]
    cache, remotes = stores
    live = [s for s in [cache, *remotes] if s is not None]
    recreated = recreated_by_others(ctx, plan.subject_oids - det.subject_oids, live)
    for s in live:
        fam = "cache" if s is cache else f"remote:{s.name}"
        present = {oid for oid, _ in s.iter_objects()}
        for oid in sorted((plan.subject_oids | det.subject_oids) & present - recreated):
            if not any(h.target == oid and h.store == fam for h in hits):
                hits.append(Hit(fam, oid, "object of the subject's data still stored"))
    for path in det.git:
        hits.append(Hit("git", path, "committed to git history: remove it with "
                        f"`git filter-repo --invert-paths --path {path}`, then forget again"))
    if det.prefect_orphan_logs:
        hits.append(orphan_log_hit(det.prefect_orphan_logs))
    own = (own_run_hit(settings.flow_runs, ctx.markers.pattern)
           if settings.flow_runs is not None and not ctx.scoped else None)
    if own is not None:
        hits.append(own)
    if ctx.lineage:
        hits.append(Hit("registry", "lineage", f"{len(ctx.lineage)} lineage record(s) left"))
    return VerifyResult(ok=not hits, hits=hits, checked=det.checked)

