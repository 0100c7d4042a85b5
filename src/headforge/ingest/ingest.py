"""Ingest one subject's capture: consent, read + validate, detect, crop, mask, stage, commit.

Two phases keep failures harmless:

* :func:`stage_subject` checks consent, reads and validates the capture and writes the
  normalised output into a private staging folder (``data/.ingest-staging/``); any error
  removes it, so nothing visible changes.
* :func:`commit_subjects` swaps each staged folder onto ``data/captures/<subject>`` with an
  atomic rename, rewrites the manifest atomically (the subject's rows replaced, other
  subjects' rows and files untouched) and records lineage for every artifact.

Output per subject: ``<seq>/<camera>/<frame>.png`` with ``<frame>.mask.png`` beside it,
``cameras.json`` (K and w2c per sequence and camera) and ``capture.json`` (inputs and settings).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from headforge.config import IngestConfig
from headforge.ingest.capture import read_capture
from headforge.ingest.errors import CaptureError
from headforge.ingest.faces import FaceBox, FaceDetector
from headforge.ingest.layout import check_name
from headforge.ingest.limits import InputLimits
from headforge.ingest.manifest import manifest_path, update_manifest
from headforge.ingest.normalise import json_bytes, write_views
from headforge.ingest.readers import Capture
from headforge.io_utils import atomic_path, sha256_bytes
from headforge.paths import data_dir, project_root

STAGE = "ingest"
PURPOSE = "capture"
STAGING = ".ingest-staging"


class IngestRegistry(Protocol):
    """What ingest needs of the consent registry (:class:`headforge.privacy.Registry` is one)."""

    def require_consent(self, subject_id: str, scope: Any) -> Any: ...

    def record_lineage_many(self, rows: Sequence[tuple[str, str, str, Sequence[str]]]) -> Any: ...

    def lineage_for_subject(self, subject_id: str) -> Sequence[Any]: ...

    def delete_lineage(self, artifacts: Sequence[Any]) -> int: ...

    def audit(self, event: str, payload: dict[str, Any]) -> Any: ...


@dataclasses.dataclass(frozen=True)
class StagedSubject:
    """A subject's normalised output, built and waiting to be committed."""

    subject: str
    staging: Path
    """Folder holding the finished output (moved into place by commit)."""
    rows: list[dict[str, Any]]
    """Manifest rows (paths already final, relative to the project root)."""
    files: list[tuple[str, str]]
    """(path relative to the project root, sha256) of every file written."""
    source_format: str
    mask_method: str
    notes: list[str]
    timings: dict[str, float]
    """Seconds spent in read, detect, crop (crop + mask + encode) and write."""
    faces_removed: int = 0
    """Other people's faces greyed out before cropping (``ingest.multiple_faces: largest``)."""


@dataclasses.dataclass(frozen=True)
class CommitResult:
    """What a commit changed."""

    subjects: list[str]
    """Subjects whose output was replaced."""
    manifest: Path
    manifest_sha256: str
    rows: int
    """Rows written for these subjects."""


def inbox_dir(cfg: IngestConfig, root: Path | None = None) -> Path:
    """The inbox folder (``cfg.inbox`` below the project root unless absolute)."""
    p = Path(cfg.inbox)
    return p if p.is_absolute() else (root or project_root()) / p


def list_subjects(cfg: IngestConfig, root: Path | None = None) -> list[str]:
    """Sub-folders of the inbox (one per subject), sorted."""
    inbox = inbox_dir(cfg, root)
    if not inbox.is_dir():
        return []
    return sorted(p.name for p in inbox.iterdir() if p.is_dir() and not p.name.startswith("."))


@dataclasses.dataclass(frozen=True)
class FaceScan:
    """The subject's face in every view, and the other faces removed from the views."""

    capture: Capture
    """The capture, its views carrying the boxes to blank (``RawView.blank``)."""
    faces: list[FaceBox | None]
    removed: dict[str, int]
    """View source -> other faces greyed out in it (only views that had some)."""


def blank_box(
    other: FaceBox, subject: FaceBox | None, scale: float
) -> tuple[int, int, int, int]:
    """Pixel box (x0, y0, x1, y1) hiding ``other``'s head: a square ``scale`` times its face
    box (as a crop would hold), or only its face box (10% margin) where that square would
    reach into the subject's face."""
    c, half = other.center, 0.5 * scale * other.size
    x0, y0, x1, y1 = c[0] - half, c[1] - half, c[0] + half, c[1] + half
    if subject is not None:
        sx0, sy0 = subject.x0, subject.y0
        sx1, sy1 = sx0 + subject.width, sy0 + subject.height
        if x0 < sx1 and sx0 < x1 and y0 < sy1 and sy0 < y1:
            m = 0.1 * other.size
            x0, y0 = other.x0 - m, other.y0 - m
            x1, y1 = other.x0 + other.width + m, other.y0 + other.height + m
    return (int(np.floor(x0)), int(np.floor(y0)), int(np.ceil(x1)), int(np.ceil(y1)))


def detect_faces(
    capture: Capture, min_score: float, multiple_faces: str = "refuse", scale: float = 1.8,
    other_score: float = 0.75,
) -> FaceScan:
    """The subject's face box in every view; raises when no view has a face.

    A view with more than one face is refused (``multiple_faces="refuse"``, naming the file
    and the fix) or, with ``"largest"``, keeps its largest face and gets the others' heads
    blanked (:func:`blank_box`) before anything is cropped or stored. Other faces count from
    ``other_score`` confidence.
    """
    with FaceDetector(min_score) as det:
        found = [det.detect_all(v.load().rgb) for v in capture.views]
    found = [(f, [o for o in others if o.score >= other_score]) for f, others in found]
    faces = [f for f, _ in found]
    if all(f is None for f in faces):
        raise CaptureError(
            f"{capture.spec.root}: no face found in any of the {len(faces)} frames; give "
            "frames where the face is visible and unoccluded (at least ~40 px wide)"
        )
    crowded = [(v, f, others) for v, (f, others) in zip(capture.views, found, strict=True)
               if others]
    if not crowded:
        return FaceScan(capture, faces, {})
    if multiple_faces != "largest":
        v, _, others = crowded[0]
        raise CaptureError(
            f"{capture.spec.root / v.source}: {len(others) + 1} faces in the picture "
            f"({len(crowded)} of {len(faces)} views show more than one person) and only the "
            "subject may be ingested; crop the other people out of the capture, or set "
            "ingest.multiple_faces: largest in params.yaml to keep the largest face and grey "
            "out the others (they are never stored)"
        )
    blanks = {id(v): tuple(blank_box(o, f, scale) for o in others) for v, f, others in crowded}
    views = [dataclasses.replace(v, blank=blanks[id(v)]) if id(v) in blanks else v
             for v in capture.views]
    removed = {v.source: len(others) for v, _, others in crowded}
    return FaceScan(dataclasses.replace(capture, views=views), faces, removed)


def check_subject(subject: str, src: Path) -> None:
    """The inbox folder name must be a registry pseudonym (and so a safe output name)."""
    from headforge.privacy.records import InvalidInputError, check_subject_id

    try:
        check_subject_id(subject)
    except InvalidInputError as e:
        raise CaptureError(f"{src}: {e}; rename the inbox folder") from e
    check_name(subject, "subject", src)


def check_consent(subject: str, cfg: IngestConfig, registry: IngestRegistry | None) -> None:
    """Raise (the registry's ConsentError) unless ``subject`` may be captured."""
    if not cfg.require_consent:
        return
    if registry is None:
        raise CaptureError(
            f"subject {subject}: ingest.require_consent is true but no consent registry was "
            "given; pass one (headforge.privacy.Registry.from_config())"
        )
    registry.require_consent(subject, PURPOSE)


def stage_subject(
    subject: str, cfg: IngestConfig, registry: IngestRegistry | None, root: Path | None = None
) -> StagedSubject:
    """Check consent, read + validate ``inbox/<subject>`` and build its output in staging."""
    root = root or project_root()
    src = inbox_dir(cfg, root) / subject
    check_subject(subject, src)
    check_consent(subject, cfg, registry)
    if cfg.resolution < 16:
        raise CaptureError(f"ingest.resolution {cfg.resolution} is too small; use 64 or more")
    if cfg.multiple_faces not in ("refuse", "largest"):
        raise CaptureError(
            f"ingest.multiple_faces {cfg.multiple_faces!r} is not refuse or largest; fix "
            "params.yaml"
        )
    limits = InputLimits.of(cfg)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    capture = read_capture(src, subject, cfg.video_fps, cfg.max_frames, limits)
    t1 = time.perf_counter()
    scan = detect_faces(
        capture, cfg.min_face_score, cfg.multiple_faces, cfg.box_scale, cfg.other_face_score
    )
    capture, faces, removed = scan.capture, scan.faces, scan.removed
    timings["read"], timings["detect"] = t1 - t0, time.perf_counter() - t1
    staging_root = root / "data" / STAGING
    staging_root.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix=f"{subject}.", dir=staging_root))
    rel = f"data/captures/{subject}"
    try:
        written = write_views(capture, faces, cfg, out, rel, timings)
        if removed:
            written.notes.append(
                f"{sum(removed.values())} other face(s) greyed out in {len(removed)} view(s) "
                "before cropping (ingest.multiple_faces: largest); they were never stored"
            )
        info = {
            "subject": subject, "source_format": capture.format,
            "format_detected": capture.spec.detected, "mask_method": written.mask_method,
            "notes": written.notes,
            "settings": dataclasses.asdict(cfg),
            "inputs": sorted({(v.source, v.content_sha256) for v in capture.views}),
            "faces_found": sum(f is not None for f in faces), "views": len(capture.views),
            "faces_removed": sum(removed.values()), "faces_removed_per_view": removed,
        }
        data = json_bytes(info)
        (out / "capture.json").write_bytes(data)
    except BaseException:
        discard_staged(out)
        raise
    return StagedSubject(
        subject=subject, staging=out, rows=written.rows,
        files=[*written.files, (f"{rel}/capture.json", sha256_bytes(data))],
        source_format=capture.format, mask_method=written.mask_method, notes=written.notes,
        timings=timings, faces_removed=sum(removed.values()),
    )


def discard_staged(staging: Path) -> None:
    """Remove a staged folder (and the staging root when it is left empty)."""
    shutil.rmtree(staging, ignore_errors=True)
    with contextlib.suppress(OSError):
        staging.parent.rmdir()


def commit_subjects(
    staged: Sequence[StagedSubject], registry: IngestRegistry | None, root: Path | None = None
) -> CommitResult:
    """Move staged outputs into ``data/captures/``, rewrite the manifest, record lineage.

    Each folder swap and the manifest rewrite are atomic renames; a crash between them leaves
    a subject folder newer than its manifest rows, which the next ingest of it repairs.
    """
    root = root or project_root()
    cap = data_dir("captures", root)
    for s in staged:
        with atomic_path(cap / s.subject) as tmp:
            os.replace(s.staging, tmp)
        discard_staged(s.staging)
    rows = [r for s in staged for r in s.rows]
    mpath = manifest_path(root)
    present, digest = update_manifest([s.subject for s in staged], rows, mpath)
    if registry is not None:
        record_lineage(registry, staged, (mpath.relative_to(root).as_posix(), digest, present))
    return CommitResult(
        subjects=[s.subject for s in staged], manifest=mpath, manifest_sha256=digest,
        rows=len(rows),
    )


def record_lineage(
    registry: IngestRegistry, staged: Sequence[StagedSubject], manifest: tuple[str, str, list[str]]
) -> None:
    """Lineage of every written file (stale records of replaced files removed), the manifest
    with the subjects it holds, and one audit entry per subject."""
    records: list[tuple[str, str, str, Sequence[str]]] = [
        (path, sha, STAGE, [s.subject]) for s in staged for path, sha in s.files
    ]
    records.append((manifest[0], manifest[1], STAGE, manifest[2]))
    written = {r[0] for r in records}
    stale = [
        rec.artifact
        for s in staged
        for rec in registry.lineage_for_subject(s.subject)
        if rec.stage == STAGE and rec.artifact.startswith(f"data/captures/{s.subject}/")
        and rec.artifact not in written
    ]
    registry.delete_lineage(stale)
    registry.record_lineage_many(records)
    for s in staged:
        registry.audit(
            "ingest.commit",
            {"subject": s.subject, "rows": len(s.rows), "files": len(s.files),
             "source_format": s.source_format, "manifest_sha256": manifest[1],
             "faces_removed": s.faces_removed},
        )


def ingest_subjects(
    subjects: Sequence[str], cfg: IngestConfig, registry: IngestRegistry | None,
    root: Path | None = None,
) -> CommitResult:
    """Stage every subject, then commit them together; any failure leaves all as they were."""
    staged: list[StagedSubject] = []
    try:
        for s in subjects:
            staged.append(stage_subject(s, cfg, registry, root))
    except BaseException:
        for st in staged:
            discard_staged(st.staging)
        raise
    return commit_subjects(staged, registry, root)
