"""The ``track`` stage for one subject: read its views, detect landmarks (cached), fit, write.

Library code only (no Prefect): ``tasks/track.py`` wraps :func:`track_subject` per subject.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from headforge.config import TrackConfig
from headforge.io_utils import sha256_file, write_text_atomic
from headforge.track.base import LandmarkDetector
from headforge.track.cache import LandmarkCache
from headforge.track.dense import DenseTerm, GaussianHead, load_images
from headforge.track.fit import fit_subject
from headforge.track.landmarks import load_rgb
from headforge.track.outputs import error_stats, write_subject
from headforge.track.result import LandmarkResult
from headforge.track.scene import SceneError, View, build_scene, views_from_manifest


def read_subjects(manifest: Path, root: Path) -> dict[str, list[View]]:
    """subject -> its views, from ``data/captures/manifest.parquet``."""
    import pandas as pd

    if not manifest.is_file():
        raise SceneError(f"{manifest} not found: run the ingest stage first (dvc repro ingest)")
    df = pd.read_parquet(manifest)
    missing = {"subject", "sequence", "frame", "camera", "path", "K", "w2c"} - set(df.columns)
    if missing:
        raise SceneError(f"{manifest} lacks columns {sorted(missing)}: re-run ingest")
    return {str(s): views_from_manifest(rows, root) for s, rows in df.groupby("subject")}


@dataclasses.dataclass
class SubjectOutcome:
    """What tracking one subject produced."""

    subject: str
    report: dict[str, Any]
    out_dir: Path
    artifacts: list[Path]
    """Every file written that holds the subject's data (outputs and cache entries)."""


def detect_views(
    views: list[View], detector: LandmarkDetector, cache: LandmarkCache | None
) -> tuple[list[LandmarkResult | None], list[np.ndarray | None], list[Path]]:
    """Landmarks and pixels of every view; a missing/unreadable image is an explicit no-face
    result naming the file. Returns (results, images, cache entry paths)."""
    results: list[LandmarkResult | None] = []
    images: list[np.ndarray | None] = []
    entries: list[Path] = []
    for v in views:
        if v.image_path is None or not v.image_path.is_file():
            results.append(
                LandmarkResult.no_face(
                    detector.name,
                    (v.height, v.width),
                    f"image file missing: {v.image_path}; re-run ingest for this subject",
                )
            )
            images.append(None)
            continue
        try:
            img = load_rgb(v.image_path)
        except ValueError as e:
            results.append(LandmarkResult.no_face(detector.name, (v.height, v.width), str(e)))
            images.append(None)
            continue
        if cache is not None:
            r, entry = cache.detect_entry(detector, img)
            entries.append(entry)
        else:
            r = detector.detect(img)
        results.append(r)
        images.append(img)
    return results, images, entries


def track_subject(
    subject: str,
    views: list[View],
    cfg: TrackConfig,
    model: Any,
    detector: LandmarkDetector,
    out_dir: Path,
    cache: LandmarkCache | None = None,
) -> SubjectOutcome:
    """Track one subject end to end and write ``out_dir`` (see :mod:`.outputs`)."""
    t0 = time.perf_counter()
    scene = build_scene(subject, views)
    landmarks, images, entries = detect_views(list(scene.views), detector, cache)
    t1 = time.perf_counter()
    dense = None
    if (
        cfg.steps_dense > 0
        and all(v.image_path is not None for v in scene.views)
        and all(im is not None for im in images)
    ):
        imgs, masks = load_images(
            [v.image_path for v in scene.views],
            [v.mask_path if v.mask_path and v.mask_path.is_file() else None for v in scene.views],
        )
        dense = DenseTerm(
            GaussianHead(model, cfg.dense_parts),
            imgs,
            masks,
            cfg.dense_resolution,
            cfg.dense_views_per_step,
        )
    res = fit_subject(model, scene, landmarks, cfg, model.n_shape, model.n_expr, dense=dense)
    t2 = time.perf_counter()
    seconds = {"landmarks": t1 - t0, "fit": t2 - t1,
               "landmarks_per_view": (t1 - t0) / len(views),
               "fit_per_frame": (t2 - t1) / len(scene.frame_keys)}  # fmt: skip
    report = write_subject(
        out_dir,
        res,
        landmarks,
        model,
        str(model.model_id),
        detector.name,
        seconds,
        images,
        cfg.overlays,
        cfg.overlay_background,
    )
    artifacts = sorted(p for p in out_dir.rglob("*") if p.is_file()) + entries
    return SubjectOutcome(subject, report, out_dir, artifacts)


def write_summary(path: Path, outcomes: list[SubjectOutcome], failed: dict[str, str]) -> Path:
    """Metrics JSON (``results/metrics/track.json``, outside the stage's output folder as DVC
    requires): per subject and overall landmark error and frame counts."""
    per = {}
    errs = []
    for o in outcomes:
        r = o.report
        per[o.subject] = {"frames": r["frames"], "status_counts": r["status_counts"],
                          "landmark_error": r["landmark_error"]}  # fmt: skip
        data = np.load(o.out_dir / "landmarks.npz")
        errs.append(np.asarray(data["error_px"], dtype=np.float64))
    allerr = np.concatenate(errs) if errs else np.zeros(0)
    summary = {"subjects": per, "failed_subjects": failed,
               "landmark_error": error_stats(allerr)}  # fmt: skip
    write_text_atomic(path, json.dumps(summary, indent=2))
    return path


def lineage_rows(root: Path, outcome: SubjectOutcome) -> list[tuple[str, str, str, list[str]]]:
    """(artifact relative to root, sha256, "track", [subject]) for every file written."""
    rows = []
    for p in outcome.artifacts:
        if p.is_file():
            rel = p.resolve().relative_to(root.resolve()).as_posix()
            rows.append((rel, sha256_file(p), "track", [outcome.subject]))
    return rows


def run_subject(
    subject: str,
    views: list[View],
    cfg: TrackConfig,
    head_cfg: Any,
    root: Path,
    registry: Any | None = None,
) -> SubjectOutcome:
    """Consent check, model + detector set-up, :func:`track_subject`, lineage records.

    ``registry`` is a :class:`headforge.privacy.Registry` (required when
    ``cfg.require_consent``); every file written is recorded as holding ``subject``'s data.
    """
    from headforge.morphable import load_head_model
    from headforge.track.detectors import make_detector

    if cfg.require_consent:
        if registry is None:
            raise ValueError("track.require_consent is true but no registry was given")
        from headforge.privacy import Scope

        registry.require_consent(subject, Scope.CAPTURE)
    model = load_head_model(head_cfg)
    cache = LandmarkCache(root / cfg.landmark_cache) if cfg.landmark_cache else None
    with make_detector(cfg) as detector:
        outcome = track_subject(
            subject, views, cfg, model, detector, root / "results" / "track" / subject, cache
        )
    if registry is not None:
        registry.record_lineage_many(lineage_rows(root, outcome))
    return outcome
