"""After a deletion: scan everything again; the subject must be found nowhere."""

from __future__ import annotations

from headforge.privacy.forget.dvcstore import ObjectStore, open_stores, parse_dir_listing
from headforge.privacy.forget.history import outs_of, working_dvc_files
from headforge.privacy.forget.model import ForgetPlan, Hit, VerifyResult
from headforge.privacy.forget.plan import RegistryLike, open_context
from headforge.privacy.forget.runs import orphan_log_hit, own_run_hit
from headforge.privacy.forget.scan import ScanContext, detect
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


def recreated_by_others(ctx: ScanContext, oids: set[str], stores: list[ObjectStore]) -> set[str]:
    """Object ids of the subject's deleted files that a current output holds again.

    A model retrained without the subject can write a file byte-identical to one of the old
    model's (a dvclive curve of a constant term, say): the bytes identify no one. Such an id
    counts only when the current ``dvc.lock``/``.dvc`` files reference it at a path that is
    not the subject's (neither named after it nor in its lineage); ``.dir`` listings never do.
    """
    if not oids:
        return set()
    root = ctx.settings.root
    refs: dict[str, list[str]] = {}
    for rel in working_dvc_files(root):
        f = root / rel
        for path, md5 in outs_of(rel, f.read_bytes()) if f.is_file() else []:
            if not md5.endswith(".dir"):
                refs.setdefault(md5, []).append(path)
                continue
            listing = next((d for d in (s.read(md5) for s in stores) if d is not None), None)
            for sub, m in parse_dir_listing(listing) if listing is not None else []:
                refs.setdefault(m, []).append(f"{path}/{sub}")
    return {o for o in oids if not o.endswith(".dir") and refs.get(o)
            and not any(ctx.claims(p) for p in refs[o])}
