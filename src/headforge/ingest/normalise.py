"""Normalised views: crop every view around the head, mask it, encode and write it.

Cropping and segmentation run in order on the calling thread (MediaPipe graphs are not shared
between threads); PNG encoding, which releases the GIL, overlaps with them on a small thread
pool. The bytes do not depend on the scheduling.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from headforge.config import IngestConfig
from headforge.ingest.crops import (
    CropBox,
    crop_image,
    crop_intrinsics,
    estimated_camera,
    plan_crops,
)
from headforge.ingest.faces import FaceBox
from headforge.ingest.masks import Segmenter
from headforge.ingest.media import encode_png, read_mask
from headforge.ingest.readers import Capture, RawView
from headforge.io_utils import sha256_bytes

ENCODE_THREADS = 2


@dataclasses.dataclass(frozen=True)
class WrittenViews:
    """What :func:`write_views` produced."""

    rows: list[dict[str, Any]]
    """Manifest rows, one per view."""
    files: list[tuple[str, str]]
    """(path relative to the project root, sha256) of every file written."""
    mask_method: str
    """Mask sources used, ``+``-joined (given, selfie, grabcut)."""
    notes: list[str]
    """Fallbacks taken while planning crops."""


def json_bytes(obj: Any) -> bytes:
    """Stable, human-readable JSON bytes (sorted keys)."""
    return (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode()


def face_core(res: int, cfg: IngestConfig) -> tuple[int, int, int, int]:
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


def crop_view(
    view: RawView, box: CropBox, res: int, seg: Segmenter, core: tuple[int, int, int, int]
) -> tuple[np.ndarray, np.ndarray, str]:
    """(image [res, res, 3], mask [res, res], mask source) of one view.

    The mask is the given one (mask file, else the image's alpha) when present, else the
    segmenter's; padding outside the source image is always background.
    """
    dec = view.load()
    img = crop_image(dec.rgb, box, res)
    given = read_mask(view.mask, view.size) if view.mask is not None else dec.alpha
    if given is not None:
        mask, source = crop_image(given, box, res), "given"
    else:
        mask, source = seg(img, core), seg.method_used
    if not box.within(view.size):
        inside = crop_image(np.full(dec.rgb.shape[:2], 255, np.uint8), box, res)
        mask = np.minimum(mask, inside)
    return img, mask, source


def _encode(img: np.ndarray, mask: np.ndarray) -> tuple[bytes, bytes]:
    return encode_png(img), encode_png(mask)


def write_views(
    capture: Capture, faces: Sequence[FaceBox | None], cfg: IngestConfig, out: Path, rel: str,
    timings: dict[str, float],
) -> WrittenViews:
    """Crop, mask and write every view into ``out`` (``rel``: its final path from the project
    root); also writes ``cameras.json``. Adds ``crop`` and ``write`` seconds to ``timings``."""
    res = cfg.resolution
    plan = plan_crops(
        capture.views, faces, cfg.box_scale, cfg.box_lift, per_frame=cfg.crop == "frame"
    )
    splits = assign_splits(capture.views, capture.calibrated, cfg.val_every)
    K_est, w2c_est = estimated_camera(res, cfg.fov_deg, cfg.box_scale, cfg.face_width_m)
    core = face_core(res, cfg)
    sources: list[str] = []
    jobs: list[Future[tuple[bytes, bytes]]] = []
    t0 = time.perf_counter()
    with Segmenter(cfg.masks) as seg, ThreadPoolExecutor(ENCODE_THREADS) as pool:
        for view, box in zip(capture.views, plan.boxes, strict=True):
            img, mask, source = crop_view(view, box, res, seg, core)
            sources.append(source)
            jobs.append(pool.submit(_encode, img, mask))
        encoded = [j.result() for j in jobs]
    t1 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    files: list[tuple[str, str]] = []
    cameras: dict[str, dict[str, Any]] = defaultdict(dict)
    for view, box, split, source, (png, mpng) in zip(
        capture.views, plan.boxes, splits, sources, encoded, strict=True
    ):
        if capture.calibrated:
            assert view.K is not None and view.w2c is not None
            K, w2c, estimated = crop_intrinsics(view.K, box, res), view.w2c, False
        else:
            K, w2c, estimated = K_est, w2c_est, True
        sub = Path(view.sequence) / view.camera
        (out / sub).mkdir(parents=True, exist_ok=True)
        (out / sub / f"{view.frame}.png").write_bytes(png)
        (out / sub / f"{view.frame}.mask.png").write_bytes(mpng)
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
            "camera_estimated": estimated, "split": split, "source_format": capture.format,
            "source": view.source, "crop": box.as_list(), "mask_source": source,
        })
    data = json_bytes(cameras)
    (out / "cameras.json").write_bytes(data)
    files.append((f"{rel}/cameras.json", sha256_bytes(data)))
    timings["crop"], timings["write"] = t1 - t0, time.perf_counter() - t1
    return WrittenViews(rows, files, "+".join(sorted(set(sources))), plan.notes)
