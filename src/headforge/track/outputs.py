"""Files a subject's tracking leaves in ``results/track/<subject>/``.

* ``flame_params/<frame_key>.npz``: FLAME keys ``shape, expr, rotation, neck_pose, jaw_pose,
  eyes_pose, translation`` + ``model_id``, ``subject``, ``sequence``, ``frame``, ``status``
  (only frames with status ok or poor_fit);
* ``landmarks.npz``: per view, detected and fitted iBUG-68 points (NaN where none), view keys;
* ``residuals.csv``: per view landmark error (px), frame status and reason;
* ``cameras.json``: per camera group, the focal scale found and the refined K / w2c;
* ``overlays/<frame_key>.png``: QA pictures of a sample of frames;
* ``track_report.json``: error statistics, frame counts and every non-ok frame with its reason.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from headforge.io_utils import atomic_path
from headforge.track.fit import TrackResult
from headforge.track.mapping import to_ibug68
from headforge.track.overlay import draw_overlay, sample_indices
from headforge.track.problem import PARAM_KEYS
from headforge.track.result import LandmarkResult


def error_stats(errors: np.ndarray) -> dict[str, float | int]:
    """Mean / median / 95th percentile / max of finite per-view errors (pixels)."""
    e = errors[np.isfinite(errors)]
    if e.size == 0:
        return {"views": 0, "mean_px": float("nan"), "median_px": float("nan"),
                "p95_px": float("nan"), "max_px": float("nan")}  # fmt: skip
    return {"views": int(e.size), "mean_px": float(e.mean()), "median_px": float(np.median(e)),
            "p95_px": float(np.percentile(e, 95)), "max_px": float(e.max())}  # fmt: skip


def build_report(
    res: TrackResult,
    landmarks: list[LandmarkResult | None],
    model_id: str,
    detector: str,
    seconds: dict[str, float],
) -> dict[str, Any]:
    """The JSON-ready ``track_report.json`` content."""
    counts: dict[str, int] = {}
    for f in res.frames:
        counts[f.status] = counts.get(f.status, 0) + 1
    ok = [i for i, f in enumerate(res.frames) if f.status in ("ok", "poor_fit")]
    ok_views = np.isin(res.scene.view_frame, ok)
    no_face_views = [
        {"view": v.key, "reason": (r.reason if r is not None else "not detected")}
        for v, r in zip(res.scene.views, landmarks, strict=True)
        if r is None or not r.found
    ]
    return {
        "subject": res.scene.subject,
        "model_id": model_id,
        "detector": detector,
        "frames": len(res.frames),
        "views": len(res.scene.views),
        "multiview": res.scene.multiview,
        "status_counts": counts,
        "landmark_error": error_stats(np.where(ok_views, res.view_error_px, np.nan)),
        "not_ok": [
            {"frame": f.key, "status": f.status, "reason": f.reason}
            for f in res.frames
            if f.status != "ok"
        ],
        "views_without_face": no_face_views,
        "focal_scale": {
            k: float(s) for k, s in zip(res.scene.camera_keys, res.focal_scale, strict=True)
        },
        "optimisation": res.optim.summary(),
        "seconds": seconds,
    }


def _npz_bytes(**arrays: Any) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def write_subject(
    out_dir: Path,
    res: TrackResult,
    landmarks: list[LandmarkResult | None],
    model: Any,
    model_id: str,
    detector: str,
    seconds: dict[str, float],
    images: list[np.ndarray | None] | None = None,
    overlays: int = 6,
    overlay_background: str = "image",
) -> dict[str, Any]:
    """Write every output of one subject atomically (the folder appears complete or not at
    all); returns the report. ``images`` (per view, uint8) are only used for overlays."""
    scene, p = res.scene, res.params
    report = build_report(res, landmarks, model_id, detector, seconds)
    with atomic_path(out_dir) as tmp:
        (tmp / "flame_params").mkdir(parents=True)
        for i in res.ok_frames():
            f = res.frames[i]
            v = scene.views[int(np.nonzero(scene.view_frame == i)[0][0])]
            arrays = p.frame(i)
            assert set(arrays) == set(PARAM_KEYS)
            (tmp / "flame_params" / f"{f.key}.npz").write_bytes(
                _npz_bytes(
                    **arrays,
                    model_id=np.array(model_id),
                    subject=np.array(scene.subject),
                    sequence=np.array(v.sequence),
                    frame=np.array(v.frame),
                    status=np.array(f.status),
                )
            )
        det = np.full((len(scene.views), 68, 2), np.nan, dtype=np.float32)
        conf = np.zeros((len(scene.views), 68), dtype=np.float32)
        for j, r in enumerate(landmarks):
            if r is not None and r.found:
                r68 = to_ibug68(r)
                det[j], conf[j] = r68.points, r68.confidence  # type: ignore[assignment]
        (tmp / "landmarks.npz").write_bytes(
            _npz_bytes(
                views=np.array([v.key for v in scene.views]),
                detected=det,
                confidence=conf,
                fitted=res.projected,
                error_px=res.view_error_px.astype(np.float32),
            )
        )
        _write_residuals(tmp / "residuals.csv", res, landmarks)
        _write_cameras(tmp / "cameras.json", res)
        _write_overlays(tmp / "overlays", res, model, det, images, overlays, overlay_background)
        (tmp / "track_report.json").write_text(json.dumps(report, indent=2, default=_json))
    return report


def _json(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o))


def _write_residuals(path: Path, res: TrackResult, landmarks: list[LandmarkResult | None]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["view", "frame", "status", "landmark_error_px", "reason"])
        for j, v in enumerate(res.scene.views):
            f = res.frames[int(res.scene.view_frame[j])]
            r = landmarks[j]
            reason = f.reason or (
                "" if r is not None and r.found else (r.reason if r is not None else "not detected")
            )
            e = res.view_error_px[j]
            w.writerow([v.key, f.key, f.status, f"{e:.4f}" if np.isfinite(e) else "", reason])


def _write_cameras(path: Path, res: TrackResult) -> None:
    scene = res.scene
    out = {}
    for c, key in enumerate(scene.camera_keys):
        K, w2c = res.final_camera(int(np.nonzero(scene.view_camera == c)[0][0]))
        out[key] = {"estimated": bool(scene.estimated_cameras[c]),
                    "focal_scale": float(res.focal_scale[c]),
                    "K": K.ravel().tolist(), "w2c": w2c.ravel().tolist()}  # fmt: skip
    path.write_text(json.dumps(out, indent=2))


def _write_overlays(
    folder: Path,
    res: TrackResult,
    model: Any,
    detected: np.ndarray,
    images: list[np.ndarray | None] | None,
    k: int,
    background: str,
) -> None:
    from PIL import Image

    folder.mkdir()
    scene = res.scene
    ok = res.ok_frames()
    if not ok or k <= 0:
        return
    pick = [ok[i] for i in sample_indices(len(ok), k)]
    with torch.no_grad():
        verts = model(**{n: t[pick] for n, t in res.params.per_frame().items()}).vertices
    faces = model.faces.numpy()
    for n, f in enumerate(pick):
        j = int(np.nonzero(scene.view_frame == f)[0][0])  # first view of the frame
        v = scene.views[j]
        K, w2c = res.final_camera(j)
        img = None
        if background == "image" and images is not None:
            img = images[j]
        det = detected[j] if np.isfinite(detected[j]).all() else None
        pic = draw_overlay(
            verts[n].numpy(), faces, K, w2c, v.width, v.height, det, res.projected[j], img
        )
        Image.fromarray(pic).save(folder / f"{res.frames[f].key}.png")
