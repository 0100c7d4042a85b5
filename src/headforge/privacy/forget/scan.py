"""Find every copy of one subject's data: workspace, DVC cache and remotes, run-cache, Prefect.

:func:`detect` is shared by the planner (what to delete) and by verify (what is left): given the
subject's :class:`Markers` it returns the data actions that would remove all of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from headforge.privacy.forget.dvcstore import ObjectStore, run_cache_hashes
from headforge.privacy.forget.history import (
    Catalogue,
    build_catalogue,
    current_refs,
    git_blobs,
)
from headforge.privacy.forget.markers import Markers, find_in_blob, hash_file, read_limited
from headforge.privacy.forget.model import Action, Kind
from headforge.privacy.forget.prefect_runs import scan_flow_runs
from headforge.privacy.forget.settings import ForgetSettings
from headforge.privacy.records import LineageRecord

LOG_SUFFIXES = (".log", ".txt", ".jsonl", ".out", ".err")
"""Text files that are redacted line by line instead of deleted."""
TEXT_SUFFIXES = (".parquet", ".json", ".jsonl", ".html", ".csv", ".tsv", ".yaml", ".yml",
                 ".log", ".txt", ".md")
"""Objects with these names are downloaded from a remote and scanned (manifests, reports)."""
REMOTE_TEXT_MAX = 16 << 20
"""Largest such object downloaded from a remote for scanning."""


@dataclasses.dataclass
class Detection:
    """What :func:`detect` found."""

    actions: list[Action] = dataclasses.field(default_factory=list)
    subject_oids: set[str] = dataclasses.field(default_factory=set)
    shared: set[str] = dataclasses.field(default_factory=set)
    review: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    checked: dict[str, int] = dataclasses.field(default_factory=dict)
    git: list[str] = dataclasses.field(default_factory=list)
    """Paths whose committed versions (git history) hold the subject's data."""
    catalogue: Catalogue | None = None
    prefect_orphan_logs: int = 0
    """Prefect log lines naming the subject whose flow run is gone (no API can remove them)."""


@dataclasses.dataclass
class ScanContext:
    """Inputs of one detection run."""

    settings: ForgetSettings
    markers: Markers
    cache: ObjectStore | None
    remotes: list[ObjectStore]
    lineage: list[LineageRecord]
    """The subject's lineage records (already filtered to the scope's stages when scoped)."""
    scoped: bool = False
    """True: only the lineage artifacts count (a consent scope ended, capture consent holds)."""

    def __post_init__(self) -> None:
        self._by_path = {r.artifact: r for r in self.lineage}

    def lineage_of(self, rel: str) -> LineageRecord | None:
        """The record whose artifact is ``rel`` or a folder above it."""
        by_path = self._by_path
        parts = rel.split("/")
        for i in range(len(parts), 0, -1):
            rec = by_path.get("/".join(parts[:i]))
            if rec is not None:
                return rec
        return None

    def claims(self, rel: str) -> bool:
        """Does this repo path hold the subject's data (by name or lineage)?"""
        rec = self.lineage_of(rel)
        if rec is not None and not (len(rec.subject_ids) > 1 and rel.endswith(".parquet")):
            return True
        return not self.scoped and self.markers.names(rel)


def walk_files(root: Path, rels: list[str], excluded: list[Path]) -> Iterator[Path]:
    """Files below ``root/<rel>`` for each rel, skipping the excluded folders."""
    ex = set(excluded)
    for rel in rels:
        base = root / rel
        if base.is_file():
            yield base
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if (here / d).resolve() not in ex)
            for f in sorted(filenames):
                p = here / f
                if p.is_file():
                    yield p


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _under(rel: str, prefixes: list[str]) -> bool:
    return any(rel == p or rel.startswith(p.rstrip("/") + "/") for p in prefixes)


def scan_workspace(ctx: ScanContext, det: Detection, ws_md5: set[str]) -> None:
    """Plan workspace deletions/rewrites; index the subject's own files first."""
    st, mk = ctx.settings, ctx.markers
    root = st.root
    files = list(walk_files(root, list(st.config.scan_paths), st.excluded()))
    det.checked["workspace"] = len(files)
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
            ws_md5.add(_md5(data))  # mixed content: delete its objects, no fragments
        else:
            ws_md5.add(mk.index.add(data)[0])
        if shared_rec and rel.endswith(".parquet"):
            det.actions.append(Action(Kind.REWRITE_MANIFEST, "workspace", rel, size,
                                      "manifest rows of the subject", stage))
        elif shared_rec and rec is not None and rec.stage in st.config.model_stages:
            det.actions.append(Action(Kind.DELETE_MODEL, "workspace", rel, size,
                                      "model trained on the subject", rec.stage))
        elif shared_rec:
            det.actions.append(Action(Kind.DELETE, "workspace", rel, size,
                                      "derived from several subjects incl. this one", stage))
        else:
            det.actions.append(Action(Kind.DELETE, "workspace", rel, size,
                                      "the subject's file", stage))
    if ctx.scoped:
        return
    # pass 2: every other file, by hash, name in content, embedded fragments, manifest rows
    hash_only = list(st.config.hash_only_paths)
    for p, rel in rest:
        size = p.stat().st_size
        other = mk.names_other(rel)
        if other or _under(rel, hash_only) or size > st.max_scan_bytes:
            if size in mk.index.sizes:
                data = read_limited(p, st.max_scan_bytes)
                if data is not None and mk.index.matches(data):
                    if other:
                        det.shared.add(_md5(data))
                    else:
                        det.actions.append(Action(Kind.DELETE, "workspace", rel, size,
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
        ws_md5.add(_md5(data))  # this version's DVC object holds the subject too
        if rel.endswith(".parquet") and found.names:
            det.actions.append(Action(Kind.REWRITE_MANIFEST, "workspace", rel, size,
                                      "manifest rows of the subject", stage))
        elif found.names and (rel.endswith(LOG_SUFFIXES) or rel.startswith("logs/")):
            det.actions.append(Action(Kind.REDACT, "workspace", rel, size,
                                      "log lines naming the subject", stage))
        else:
            det.actions.append(Action(Kind.DELETE, "workspace", rel, size, found.reason, stage))


def classify_objects(ctx: ScanContext, det: Detection, ws_md5: set[str],
                     listings: dict[str, list[tuple[str, int]]]) -> None:
    """Decide which DVC object ids hold the subject's data (every recorded version)."""
    mk, st = ctx.markers, ctx.settings
    stores = [s for s in [ctx.cache, *ctx.remotes] if s is not None]
    extra: list[tuple[str, bytes]] = []
    for s in stores:
        for oid, _size in listings[s.name]:
            if oid.endswith(".dir"):
                data = s.read(oid)
                if data is not None:
                    extra.append((oid, data))
    cat = build_catalogue(st.root, [s.read for s in stores], extra)
    det.catalogue = cat
    # objects stored under another subject's path are that subject's too: never deleted
    protected = set(det.shared) | {oid for oid, paths in cat.paths.items()
                                   if any(mk.names_other(p) and not mk.names(p) for p in paths)}
    protected |= recreated_by_others(ctx, set(cat.paths) - ws_md5, stores)
    candidates = set(ws_md5) | mk.index.md5 | {
        oid for oid, paths in cat.paths.items() if any(ctx.claims(p) for p in paths)}
    det.shared = candidates & protected
    subject = candidates - protected
    for oid, entries in cat.dirs.items():
        if any(md5 in subject or (not ctx.scoped and mk.names(rel)) for rel, md5 in entries):
            subject.add(oid)
    # content: objects not known by path (old manifests, reports, logs) on local stores
    if not ctx.scoped:
        hash_only = list(st.config.hash_only_paths)
        for s in stores:
            remote_only = not s.can_scan_content()
            if remote_only:
                det.notes.append(f"remote {s.name}: objects matched by hash, .dir listing and "
                                 "the content of manifests/text files (others not downloaded)")
            for oid, size in listings[s.name]:
                if oid in subject or oid in protected or size > st.max_scan_bytes:
                    continue
                known = cat.paths_of(oid)
                if known and all(_under(p, hash_only) or mk.names_other(p) for p in known):
                    continue
                if remote_only and (size > REMOTE_TEXT_MAX or oid.endswith(".dir") or not any(
                        p.endswith(TEXT_SUFFIXES) for p in known)):
                    continue
                data = s.read(oid)
                if data is not None and find_in_blob(data, mk):
                    subject.add(oid)
    det.subject_oids = subject
    if cat.unreadable_dirs:
        det.notes.append(f"{len(cat.unreadable_dirs)} folder listing(s) named in history are in "
                         "no store (outputs with cache: false, or never pushed): their files "
                         "are matched by path and hash only")


def recreated_by_others(ctx: ScanContext, oids: set[str], stores: list[ObjectStore]
                        ) -> set[str]:
    """Of ``oids``, those a current output that is not the subject's holds.

    A model retrained without the subject can write a file byte-identical to one of the old
    model's (a dvclive curve of a constant term, say): those bytes identify no one and now
    belong to the new output. Counted only when the working ``dvc.lock``/``.dvc`` files
    reference the id at paths that are neither named after the subject nor in its lineage;
    ``.dir`` listings never count. Callers pass only ids whose current file the workspace scan
    did not flag.
    """
    if not oids:
        return set()
    refs = current_refs(ctx.settings.root, [s.read for s in stores])
    return {o for o in oids if not o.endswith(".dir") and refs.get(o)
            and not any(ctx.claims(p) for p in refs[o])}


def scan_stores(ctx: ScanContext, det: Detection, ws_md5: set[str]) -> None:
    """Plan deletions in the cache, every remote, their run-caches; Prefect and DVC state."""
    stores = [s for s in [ctx.cache, *ctx.remotes] if s is not None]
    listings = {s.name: list(s.iter_objects()) for s in stores}
    classify_objects(ctx, det, ws_md5, listings)
    mk = ctx.markers
    for s in stores:
        fam = "cache" if s is ctx.cache else f"remote:{s.name}"
        det.checked[fam.split(":")[0]] = det.checked.get(fam.split(":")[0], 0) + len(
            listings[s.name])
        for oid, size in listings[s.name]:
            if oid in det.subject_oids:
                det.actions.append(Action(Kind.DELETE_OBJECT, fam, oid, size,
                                          "object of the subject's data"))
        n = 0
        for key, data in s.iter_run_cache():
            n += 1
            md5s, paths = run_cache_hashes(data)
            if md5s & det.subject_oids or (not ctx.scoped and (
                    mk.pattern.search(data) or any(mk.names(p) for p in paths))):
                det.actions.append(Action(Kind.DELETE_RUN, f"run-cache:{s.name}", key, len(data),
                                          "run-cache entry of the subject's objects"))
        det.checked["run-cache"] = det.checked.get("run-cache", 0) + n
    if not ctx.scoped:
        scan_prefect(ctx, det)
        scan_prefect_api(ctx, det)
        scan_dvc_state(ctx, det)
        scan_git(ctx, det)


def scan_git(ctx: ScanContext, det: Detection) -> None:
    """Files of the scanned folders committed to git (any revision) that hold the subject.

    Git history is never rewritten here (that would change every clone); such files are
    reported, and verify fails until they are removed (``git filter-repo``) and forget reruns.
    """
    st, mk = ctx.settings, ctx.markers
    blobs = git_blobs(st.root, list(st.config.scan_paths), st.max_scan_bytes)
    det.checked["git"] = len(blobs)
    for path, data in blobs:
        if mk.names_other(path) and not mk.names(path):
            continue
        if mk.names(path) or find_in_blob(data, mk):
            if path not in det.git:
                det.git.append(path)


def scan_prefect(ctx: ScanContext, det: Detection) -> None:
    """Prefect result-storage files holding or naming the subject's data."""
    n = 0
    for base in ctx.settings.prefect_storage:
        if not base.is_dir():
            continue
        for p in walk_files(base, ["."], []):
            n += 1
            data = read_limited(p, ctx.settings.max_scan_bytes)
            if data is None:
                continue
            found = find_in_blob(data, ctx.markers)
            if found:
                det.actions.append(Action(Kind.DELETE, "prefect", str(p.resolve()), len(data),
                                          f"cached task result: {found.reason}"))
    det.checked["prefect"] = n


def scan_prefect_api(ctx: ScanContext, det: Detection) -> None:
    """Flow runs of Prefect's API whose parameters, name, tags or logs name the subject."""
    catalog = ctx.settings.flow_runs
    if catalog is None:
        return
    actions, n, orphans = scan_flow_runs(catalog, ctx.markers.subject, ctx.markers.pattern)
    det.actions += actions
    det.checked["prefect-api"] = n
    det.prefect_orphan_logs = orphans


def scan_dvc_state(ctx: ScanContext, det: Detection) -> None:
    """DVC's own state databases and scratch files naming the subject's paths (caches only)."""
    st = ctx.settings
    bases = [st.root / ".dvc" / "tmp"]
    if st.layout.site_cache_dir:
        bases.append(st.layout.site_cache_dir)
    n = 0
    for base in bases:
        if not base.is_dir():
            continue
        for p in walk_files(base, ["."], []):
            n += 1
            data = read_limited(p, st.max_scan_bytes)
            if data is not None and ctx.markers.pattern.search(data):
                for q in [p, Path(f"{p}-wal"), Path(f"{p}-shm"), Path(f"{p}-journal")]:
                    if q.is_file():
                        det.actions.append(Action(Kind.DELETE, "dvc-state", str(q.resolve()),
                                                  q.stat().st_size,
                                                  "DVC state database naming the subject"))
    det.checked["dvc-state"] = n


def detect(ctx: ScanContext) -> Detection:
    """Every data action needed to remove the subject (empty when nothing is left)."""
    det = Detection()
    ws_md5: set[str] = set()
    scan_workspace(ctx, det, ws_md5)
    scan_stores(ctx, det, ws_md5)
    ctx.markers.index.drop(det.shared)
    seen: set[str] = set()
    uniq = []
    for a in det.actions:
        if a.id not in seen:
            seen.add(a.id)
            uniq.append(a)
    det.actions = uniq
    return det
