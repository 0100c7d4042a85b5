"""Find every copy of one subject's data: the scan of every place in :data:`PLACES`.

:func:`detect` is shared by the planner (what to delete) and by verify (what is left): given the
subject's :class:`Markers` it returns the data actions that would remove all of it. Each place's
own scan lives in its module under :mod:`headforge.privacy.forget.places`; this module holds
what they share (the context, the result, the classification of DVC objects).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from headforge.privacy.forget.dvcstore import ObjectStore
from headforge.privacy.forget.history import Catalogue, build_catalogue, current_refs
from headforge.privacy.forget.markers import Markers, find_in_blob
from headforge.privacy.forget.model import Action
from headforge.privacy.forget.places import visited
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
    workspace_md5: set[str] = dataclasses.field(default_factory=set)
    """DVC object ids (md5) of the workspace files holding the subject (every current one)."""
    listings: dict[str, list[tuple[str, int]]] | None = None
    """Objects of the cache and every remote, by store name (see :func:`object_listings`)."""


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


def md5_of(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def under(rel: str, prefixes: list[str]) -> bool:
    return any(rel == p or rel.startswith(p.rstrip("/") + "/") for p in prefixes)


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
                if known and all(under(p, hash_only) or mk.names_other(p) for p in known):
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


def dvc_stores(ctx: ScanContext) -> list[ObjectStore]:
    """The DVC cache (if any) and every remote."""
    return [s for s in [ctx.cache, *ctx.remotes] if s is not None]


def object_listings(ctx: ScanContext, det: Detection) -> dict[str, list[tuple[str, int]]]:
    """Store name -> (object id, size) of the cache and every remote; the first call (after
    the workspace scan) also decides which ids hold the subject's data (``det.subject_oids``),
    for the places ``cache``, ``remote`` and ``run-cache``."""
    if det.listings is None:
        det.listings = {s.name: list(s.iter_objects()) for s in dvc_stores(ctx)}
        classify_objects(ctx, det, det.workspace_md5, det.listings)
    return det.listings


def detect(ctx: ScanContext) -> Detection:
    """Every data action needed to remove the subject (empty when nothing is left): the scan
    of every place in :data:`PLACES` order (for a scoped forget, the places marked
    ``scoped``)."""
    det = Detection()
    for place in visited(ctx.scoped):
        if place.scan is not None:
            place.scan(ctx, det)
    object_listings(ctx, det)  # the history catalogue, even without a DVC store place
    ctx.markers.index.drop(det.shared)
    seen: set[str] = set()
    uniq = []
    for a in det.actions:
        if a.id not in seen:
            seen.add(a.id)
            uniq.append(a)
    det.actions = uniq
    return det
