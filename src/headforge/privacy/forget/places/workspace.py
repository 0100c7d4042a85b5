"""Place ``workspace``: the project's files under ``retention.scan_paths`` (inbox, data,
results, logs, dvclive), and the retraining requests of models trained on the subject."""

from __future__ import annotations

from pathlib import Path

from headforge.privacy.forget.apply import (
    Applier,
    prune_empty,
    queue_retrain,
    redact_lines,
    remove_path,
)
from headforge.privacy.forget.markers import find_in_blob, hash_file, read_limited
from headforge.privacy.forget.model import Action, Kind
from headforge.privacy.forget.places import Place
from headforge.privacy.forget.plan import RETRAIN_FILE, PlanContext
from headforge.privacy.forget.scan import (
    LOG_SUFFIXES,
    Detection,
    ScanContext,
    md5_of,
    under,
    walk_files,
)

NAME = "workspace"


def scan(ctx: ScanContext, det: Detection) -> None:
    """Plan workspace deletions/rewrites; index the subject's own files first."""
    st, mk, ws_md5 = ctx.settings, ctx.markers, det.workspace_md5
    root = st.root
    files = list(walk_files(root, list(st.config.scan_paths), st.excluded()))
    det.checked[NAME] = len(files)
    rest: list[tuple[Path, str]] = []
    # pass 1: the subject's own files (by path or lineage) -> delete, index their content
    for p in files:
        rel = p.relative_to(root).as_posix()
        rec = ctx.lineage_of(rel)
        own = rec is not None or (not ctx.scoped and mk.names(rel))
        if own and rec is not None and len(rec.subject_ids) > 1 and mk.names_other(rel) and (
                not mk.names(rel)):
            own = False  # another subject's part of a shared artifact (report asset)
        if not own:
            rest.append((p, rel))
            continue
        data = p.read_bytes() if p.stat().st_size <= st.max_scan_bytes else None
        size = p.stat().st_size
        shared_rec = rec is not None and len(rec.subject_ids) > 1
        stage = st.stage_of(rel)
        if data is None:  # too large to read: hashes only (no copies inside other files)
            md5, sha = hash_file(p)
            ws_md5.add(md5)
            if not (shared_rec or mk.names_other(rel)):
                mk.index.add_hashes(md5, sha, size)
        elif shared_rec or mk.names_other(rel):
            ws_md5.add(md5_of(data))  # mixed content: delete its objects, no fragments
        else:
            ws_md5.add(mk.index.add(data)[0])
        if shared_rec and rel.endswith(".parquet"):
            det.actions.append(Action(Kind.REWRITE_MANIFEST, NAME, rel, size,
                                      "manifest rows of the subject", stage))
        elif shared_rec and rec is not None and rec.stage in st.config.model_stages:
            det.actions.append(Action(Kind.DELETE_MODEL, NAME, rel, size,
                                      "model trained on the subject", rec.stage))
        elif shared_rec:
            det.actions.append(Action(Kind.DELETE, NAME, rel, size,
                                      "derived from several subjects incl. this one", stage))
        else:
            det.actions.append(Action(Kind.DELETE, NAME, rel, size,
                                      "the subject's file", stage))
    if ctx.scoped:
        return
    # pass 2: every other file, by hash, name in content, embedded fragments, manifest rows
    hash_only = list(st.config.hash_only_paths)
    for p, rel in rest:
        size = p.stat().st_size
        other = mk.names_other(rel)
        if other or under(rel, hash_only) or size > st.max_scan_bytes:
            if size in mk.index.sizes:
                data = read_limited(p, st.max_scan_bytes)
                if data is not None and mk.index.matches(data):
                    if other:
                        det.shared.add(md5_of(data))
                    else:
                        det.actions.append(Action(Kind.DELETE, NAME, rel, size,
                                                  "copy of the subject's file", st.stage_of(rel)))
            if other and size <= st.max_scan_bytes:
                data = p.read_bytes()
                if find_in_blob(data, mk) and not mk.index.matches(data):
                    det.review.append(rel)
            continue
        data = p.read_bytes()
        found = find_in_blob(data, mk)
        if not found:
            continue
        stage = st.stage_of(rel)
        ws_md5.add(md5_of(data))  # this version's DVC object holds the subject too
        if rel.endswith(".parquet") and found.names:
            det.actions.append(Action(Kind.REWRITE_MANIFEST, NAME, rel, size,
                                      "manifest rows of the subject", stage))
        elif found.names and (rel.endswith(LOG_SUFFIXES) or rel.startswith("logs/")):
            det.actions.append(Action(Kind.REDACT, NAME, rel, size,
                                      "log lines naming the subject", stage))
        else:
            det.actions.append(Action(Kind.DELETE, NAME, rel, size, found.reason, stage))


def plan(pc: PlanContext) -> list[Action]:
    """A retraining request per model stage whose models go (no personal data in it)."""
    return [Action(Kind.QUEUE_RETRAIN, NAME, f"results/{stage}/{RETRAIN_FILE}", 0,
                   "retrain without the subject", stage, tuple(sorted(arts)))
            for stage, arts in sorted(pc.retrain.items())]


def apply(ap: Applier, a: Action) -> int:
    root = ap.settings.root
    if a.kind in (Kind.DELETE, Kind.DELETE_MODEL):
        p = root / a.target
        freed = remove_path(p)
        prune_empty(p.resolve(), ap.stop)
        return freed
    if a.kind is Kind.REWRITE_MANIFEST:
        return ap.rewrite(a)
    if a.kind is Kind.REDACT:
        p = root / a.target
        return redact_lines(p, ap.plan.subject, ap.others) if p.is_file() else 0
    if a.kind is Kind.QUEUE_RETRAIN:
        stages = sorted({ap.settings.stage_of(x) or str(a.stage) for x in a.data})
        queue_retrain(root, a, ap.plan.digest, stages)
        return 0
    raise ValueError(f"{NAME}: unknown action kind {a.kind!r}")


ENTRY = Place(NAME, "the project's files (scan paths): deleted, manifests rewritten, logs "
              "redacted; models trained on the subject deleted and queued for retraining",
              scan=scan, plan=plan, apply=apply, scoped=True)
