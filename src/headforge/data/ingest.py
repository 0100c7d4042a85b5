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
import json
import os
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from headforge.config import IngestConfig
from headforge.data.crops import CropBox, crop_image, crop_intrinsics, estimated_camera, plan_crops
from headforge.data.errors import CaptureError
from headforge.data.faces import FaceBox, FaceDetector
from headforge.data.layout import check_name
from headforge.data.manifest import manifest_path, update_manifest
from headforge.data.masks import Segmenter
from headforge.data.media import encode_png, read_mask
from headforge.data.readers import Capture, RawView, read_capture
from headforge.io_utils import atomic_path, sha256_bytes
from headforge.paths import data_dir, project_root

STAGE = "ingest"
PURPOSE = "capture"
STAGING = ".ingest-staging"


class Registry(Protocol):
    """What ingest needs from the consent registry (:class:`headforge.privacy.Registry`)."""

    def require_consent(self, subject_id: str, purpose: str) -> Any: ...

    def record_lineage_many(
        self, records: Iterable[tuple[str, str, str, Sequence[str]]]
    ) -> Any: ...


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


def _face_core(res: int, cfg: IngestConfig) -> tuple[int, int, int, int]:
    """Where the face lies in a crop made by :func:`plan_crops` (x0, y0, x1, y1)."""
    face = res / cfg.box_scale
    cx, cy, half = res / 2.0, res / 2.0 + cfg.box_lift * face, 0.35 * face
    return (round(cx - half), round(cy - half), round(cx + half), round(cy + half))


def assign_splits(views: Sequence[RawView], calibrated: bool, every: int) -> list[str]:
    """``val`` for every ``every``-th camera (calibrated multi-view) or view (otherwise)."""
    if every <= 0:
        return ["train"] * len(views)
    cams = sorted({v.camera for v in views})
    if calibrated and len(cams) > 1:
        held = {c for i, c in enumerate(cams) if i % every == every - 1}
        return ["val" if v.camera in held else "train" for v in views]
    counters: dict[str, int] = defaultdict(int)
    out = []
    for v in views:
        i = counters[v.sequence]
        counters[v.sequence] += 1
        out.append("val" if i % every == every - 1 else "train")
    return out


def detect_faces(capture: Capture, min_score: float) -> list[FaceBox | None]:
    """The face box of every view; raises when no view has a face."""
    with FaceDetector(min_score) as det:
        faces = [det.detect(v.load().rgb) for v in capture.views]
    if all(f is None for f in faces):
        raise CaptureError(
            f"{capture.spec.root}: no face found in any of the {len(faces)} frames; give "
            "frames where the face is visible and unoccluded (at least ~40 px wide)"
        )
    return faces


def _mask_for(
    view: RawView, alpha: np.ndarray | None, box: CropBox, res: int
) -> np.ndarray | None:
    if view.mask is not None:
        m = read_mask(view.mask, view.size)
    elif alpha is not None:
        m = alpha
    else:
        return None
    return crop_image(m, box, res)


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode()


def _render_views(
    capture: Capture, faces: Sequence[FaceBox | None], cfg: IngestConfig, out: Path, rel: str,
    timings: dict[str, float],
) -> tuple[list[dict[str, Any]], list[tuple[str, str]], str, list[str]]:
    """Crop, mask and write every view into ``out``; returns rows, files, mask method, notes."""
    res = cfg.resolution
    plan = plan_crops(
        capture.views, faces, cfg.box_scale, cfg.box_lift, per_frame=cfg.crop == "frame"
    )
    splits = assign_splits(capture.views, capture.calibrated, cfg.val_every)
    K_est, w2c_est = estimated_camera(res, cfg.fov_deg, cfg.box_scale, cfg.face_width_m)
    rows: list[dict[str, Any]] = []
    files: list[tuple[str, str]] = []
    cameras: dict[str, dict[str, Any]] = defaultdict(dict)
    methods: set[str] = set()
    core = _face_core(res, cfg)
    t_crop = t_write = 0.0
    with Segmenter(cfg.masks) as seg:
        for view, box, split in zip(capture.views, plan.boxes, splits, strict=True):
            t0 = time.perf_counter()
            dec = view.load()
            img = crop_image(dec.rgb, box, res)
            mask = _mask_for(view, dec.alpha, box, res)
            mask_source = "given"
            if mask is None:
                mask, mask_source = seg(img, core), seg.method_used
            methods.add(mask_source)
            png, mpng = encode_png(img), encode_png(mask)
            if capture.calibrated:
                assert view.K is not None and view.w2c is not None
                K, w2c, estimated = crop_intrinsics(view.K, box, res), view.w2c, False
            else:
                K, w2c, estimated = K_est, w2c_est, True
            t1 = time.perf_counter()
            sub = Path(view.sequence) / view.camera
            (out / sub).mkdir(parents=True, exist_ok=True)
            (out / sub / f"{view.frame}.png").write_bytes(png)
            (out / sub / f"{view.frame}.mask.png").write_bytes(mpng)
            t_write += time.perf_counter() - t1
            t_crop += t1 - t0
            stem = f"{rel}/{sub.as_posix()}/{view.frame}"
            path, mask_path = f"{stem}.png", f"{stem}.mask.png"
            sha, msha = sha256_bytes(png), sha256_bytes(mpng)
            files += [(path, sha), (mask_path, msha)]
            cameras[view.sequence][view.camera] = {
                "K": K.tolist(), "w2c": w2c.tolist(), "estimated": estimated,
            }
            rows.append({
                "subject": capture.subject, "sequence": view.sequence, "frame": view.frame,
                "camera": view.camera, "path": path, "mask_path": mask_path, "sha256": sha,
                "mask_sha256": msha, "width": res, "height": res, "K": K, "w2c": w2c,
                "camera_estimated": estimated, "split": split,
                "source_format": capture.format, "source": view.source, "crop": box.as_list(),
                "mask_source": mask_source,
            })
    data = _json_bytes(cameras)
    (out / "cameras.json").write_bytes(data)
    files.append((f"{rel}/cameras.json", sha256_bytes(data)))
    timings["crop"], timings["write"] = t_crop, t_write
    return rows, files, "+".join(sorted(methods)), plan.notes


def check_consent(subject: str, cfg: IngestConfig, registry: Registry | None) -> None:
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
    subject: str, cfg: IngestConfig, registry: Registry | None, root: Path | None = None
) -> StagedSubject:
    """Check consent, read + validate ``inbox/<subject>`` and build its output in staging."""
    root = root or project_root()
    src = inbox_dir(cfg, root) / subject
    check_name(subject, "subject", src)
    check_consent(subject, cfg, registry)
    if cfg.resolution < 16:
        raise CaptureError(f"ingest.resolution {cfg.resolution} is too small; use 64 or more")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    capture = read_capture(src, subject, cfg.video_fps, cfg.max_frames)
    t1 = time.perf_counter()
    faces = detect_faces(capture, cfg.min_face_score)
    timings["read"], timings["detect"] = t1 - t0, time.perf_counter() - t1
    staging_root = root / "data" / STAGING
    staging_root.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix=f"{subject}.", dir=staging_root))
    rel = f"data/captures/{subject}"
    try:
        rows, files, method, notes = _render_views(capture, faces, cfg, out, rel, timings)
        info = {
            "subject": subject, "source_format": capture.format,
            "format_detected": capture.spec.detected, "mask_method": method, "notes": notes,
            "settings": dataclasses.asdict(cfg),
            "inputs": sorted({(v.source, v.content_sha256) for v in capture.views}),
            "faces_found": sum(f is not None for f in faces), "views": len(capture.views),
        }
        data = _json_bytes(info)
        (out / "capture.json").write_bytes(data)
        files.append((f"{rel}/capture.json", sha256_bytes(data)))
    except BaseException:
        discard_staged(out)
        raise
    return StagedSubject(
        subject=subject, staging=out, rows=rows, files=files, source_format=capture.format,
        mask_method=method, notes=notes, timings=timings,
    )


def discard_staged(staging: Path) -> None:
    """Remove a staged folder (and the staging root when it is left empty)."""
    shutil.rmtree(staging, ignore_errors=True)
    with contextlib.suppress(OSError):
        staging.parent.rmdir()


def commit_subjects(
    staged: Sequence[StagedSubject], registry: Registry | None, root: Path | None = None
) -> CommitResult:
    """Move staged outputs into ``data/captures/``, rewrite the manifest, record lineage."""
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
        records: list[tuple[str, str, str, Sequence[str]]] = [
            (path, sha, STAGE, [s.subject]) for s in staged for path, sha in s.files
        ]
        records.append((mpath.relative_to(root).as_posix(), digest, STAGE, present))
        registry.record_lineage_many(records)
    return CommitResult(
        subjects=[s.subject for s in staged], manifest=mpath, manifest_sha256=digest,
        rows=len(rows),
    )


def ingest_subjects(
    subjects: Sequence[str], cfg: IngestConfig, registry: Registry | None,
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
