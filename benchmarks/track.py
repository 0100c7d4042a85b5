"""Tracking speed and accuracy.

* speed: seconds per frame on 2 CPU threads for a monocular 256 x 256 video (24 frames of
  ``../shared/realdata/liveportrait_d3.mp4``; frames stay in memory), landmarks (MediaPipe and
  dlib) and fitting (the tiny profile's stages, with and without the dense term) separately;
* accuracy: synthetic heads with known parameters rendered by our own renderer (3 frames;
  3 cameras and 1 camera): face-region vertex error relative to the head width, as fitted
  ("world"), after the one unobservable monocular scale about the camera centre ("gauge"),
  after rigid alignment ("aligned"), and landmark reprojection error in pixels; plus one
  camera over 6 seeds with the identity unknown and known (``monocular_seeds_256``).

Run from the repo root: ``.venv/bin/python benchmarks/track.py``. Prints one JSON object last.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import numpy as np  # noqa: E402
import torch  # noqa: E402

from headforge.cameras import focal_from_fov, intrinsics  # noqa: E402
from headforge.config import TrackConfig  # noqa: E402
from headforge.context import Context  # noqa: E402
from headforge.morphable import load_head_model  # noqa: E402
from headforge.track.dense import DenseTerm, GaussianHead  # noqa: E402
from headforge.track.fit import fit_subject  # noqa: E402
from headforge.track.scene import View, build_scene  # noqa: E402
from headforge.track.synthetic import (  # noqa: E402
    rig,
    sample_params,
    smooth_albedo,
    synthetic_case,
    vertex_errors,
)

REALDATA = ROOT.parent / "shared" / "realdata"


def video_frames(path: Path, n: int, size: int) -> list[np.ndarray]:
    import av
    from PIL import Image

    with av.open(str(path)) as c:
        total = c.streams.video[0].frames or 300
        step = max(1, total // n)
        out = []
        for i, fr in enumerate(c.decode(video=0)):
            if i % step == 0 and len(out) < n:
                out.append(np.asarray(fr.to_image().resize((size, size), Image.BILINEAR)))
    return out


def speed(cfg: TrackConfig, model, n_frames: int = 24) -> dict[str, object]:
    from headforge.track.detect_dlib import DlibDetector
    from headforge.track.detect_mediapipe import MediaPipeDetector

    frames = video_frames(REALDATA / "liveportrait_d3.mp4", n_frames, 256)
    res: dict[str, object] = {"frames": len(frames), "size": 256}
    lms = {}
    for name, cls in (("mediapipe", MediaPipeDetector), ("dlib", DlibDetector)):
        with cls() as det:
            det.detect(frames[0])  # warm-up
            t0 = time.perf_counter()
            lms[name] = [det.detect(f) for f in frames]
            res[f"landmarks_{name}_s_per_frame"] = (time.perf_counter() - t0) / len(frames)
    f = focal_from_fov(30.0, 256)
    K = intrinsics(f, f, 128, 128)
    views = [View("clip", "video", f"{i:06d}", K, np.eye(4), 256, 256, True)
             for i in range(len(frames))]  # fmt: skip
    scene = build_scene("bench", views)
    for dense_on in (False, True):
        dense = None
        if dense_on:
            imgs = torch.from_numpy(np.stack(frames)).float() / 255.0
            dense = DenseTerm(GaussianHead(model, cfg.dense_parts), imgs, None,
                              cfg.dense_resolution, cfg.dense_views_per_step)  # fmt: skip
        t0 = time.perf_counter()
        out = fit_subject(model, scene, lms["mediapipe"], cfg, model.n_shape, model.n_expr,
                          dense=dense)  # fmt: skip
        key = "fit_dense" if dense_on else "fit_landmarks_only"
        res[f"{key}_s_per_frame"] = (time.perf_counter() - t0) / len(frames)
        res[f"{key}_stage_s"] = {s.name: round(s.seconds, 2) for s in out.optim.stages}
        res[f"{key}_landmark_error_px"] = float(np.nanmean(out.view_error_px))
        res[f"{key}_status"] = {s: sum(fr.status == s for fr in out.frames)
                                for s in {fr.status for fr in out.frames}}  # fmt: skip
    return res


def accuracy(cfg: TrackConfig, model) -> dict[str, object]:
    face = model.part_mask("face") | model.part_mask("eyes") | model.part_mask("mouth")
    truth = sample_params(3, seed=1, n_shape=model.n_shape, n_expr=model.n_expr)
    gt = GaussianHead(model, cfg.dense_parts)
    gt.albedo_logit.copy_(torch.logit(smooth_albedo(gt, model)))
    out: dict[str, object] = {}
    for n_cams in (3, 1):
        case = synthetic_case(model, truth, rig(n_cams), noise_px=0.3, head=gt)
        for dense_on in (False, True):
            dense = None
            if dense_on:
                dense = DenseTerm(
                    GaussianHead(model, cfg.dense_parts),
                    case.images,
                    case.masks,
                    cfg.dense_resolution,
                    cfg.dense_views_per_step,
                )
            t0 = time.perf_counter()
            r = fit_subject(model, build_scene("syn", case.views), case.landmarks, cfg,
                            model.n_shape, model.n_expr, dense=dense)  # fmt: skip
            e = vertex_errors(model, r.params.per_frame(), truth, face, _centre(case))
            key = f"{'multiview3' if n_cams > 1 else 'monocular'}_{'dense' if dense_on else 'lmk'}"
            out[key] = {
                "vertex_error_world_max": float(e.world.max()),
                "vertex_error_world_mean": float(e.world.mean()),
                "vertex_error_gauge_max": float(np.nanmax(e.gauge)),
                "vertex_error_gauge_mean": float(np.nanmean(e.gauge)),
                "vertex_error_aligned_max": float(e.aligned.max()),
                "landmark_error_px_mean": float(np.nanmean(r.view_error_px)),
                "landmark_error_px_max": float(np.nanmax(r.view_error_px)),
                "seconds": round(time.perf_counter() - t0, 2),
            }
    return out


def _centre(case) -> np.ndarray:
    w2c = case.views[0].w2c
    return -w2c[:3, :3].T @ w2c[:3, 3]


def monocular_seeds(cfg: TrackConfig, model, seeds: range = range(1, 7)) -> dict[str, object]:
    """One camera, 3 frames per seed, landmarks only: the face-region vertex error as fitted
    ("world"), after the unobservable scale about the camera centre ("gauge", one per
    subject), and as fitted when the subject's identity is known ("known_shape_world")."""
    face = model.part_mask("face") | model.part_mask("eyes") | model.part_mask("mouth")
    world, gauge, known = [], [], []
    for seed in seeds:
        truth = sample_params(3, seed=seed, n_shape=model.n_shape, n_expr=model.n_expr)
        case = synthetic_case(model, truth, rig(1), noise_px=0.3)
        scene = build_scene("syn", case.views)
        r = fit_subject(model, scene, case.landmarks, cfg, model.n_shape, model.n_expr)
        e = vertex_errors(model, r.params.per_frame(), truth, face, _centre(case))
        r = fit_subject(model, scene, case.landmarks, cfg, model.n_shape, model.n_expr,
                        known_shape=truth["shape"][0].numpy())  # fmt: skip
        k = vertex_errors(model, r.params.per_frame(), truth, face)
        world += e.world.tolist()
        gauge += e.gauge.tolist()
        known += k.world.tolist()
    return {
        "seeds": list(seeds), "frames": len(world),
        **{f"{n}_{s}": float(getattr(np, s)(v)) for n, v in
           (("world", world), ("gauge", gauge), ("known_shape_world", known))
           for s in ("max", "mean")},
    }  # fmt: skip


def main() -> dict[str, object]:
    torch.set_num_threads(2)
    cfg = Context.load(ROOT, profile="tiny").params.track
    model = load_head_model()
    result: dict[str, object] = {
        "benchmark": "track", "torch_threads": 2, "profile": "tiny",
        "steps": {"rigid": cfg.steps_rigid, "landmarks": cfg.steps_landmarks,
                  "dense": cfg.steps_dense, "dense_resolution": cfg.dense_resolution},
    }  # fmt: skip
    if REALDATA.is_dir():
        result["speed_monocular_256"] = speed(cfg, model)
    else:
        result["speed_monocular_256"] = f"skipped: {REALDATA} not found"
    result["accuracy_synthetic_256"] = accuracy(cfg, model)
    result["monocular_seeds_256"] = monocular_seeds(cfg, model)
    return result


if __name__ == "__main__":
    print(json.dumps(main()))
