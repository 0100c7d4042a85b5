"""Track every frame of the real test videos and document the result without their pixels.

For ``liveportrait_d3.mp4`` and ``pexels_wolfganglanger.mp4`` (``../shared/realdata``): one
square crop around the face (found on the first frame) for the whole clip, 256 x 256,
MediaPipe landmarks (cached), the tiny profile's fit with an estimated focal length. Writes
``docs/track/real_<clip>_errors.png`` (per-frame landmark error) and
``docs/track/real_<clip>_fits.png`` (fitted mesh + detected/fitted landmarks drawn on neutral
grey: no pixel of the video is committed), plus ``docs/track/real_videos.json``.

Run from the repo root: ``.venv/bin/python benchmarks/track_real.py``. Prints one JSON object.
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
from PIL import Image  # noqa: E402

from headforge.cameras import focal_from_fov, intrinsics  # noqa: E402
from headforge.config import TrackConfig  # noqa: E402
from headforge.context import Context  # noqa: E402
from headforge.io_utils import write_text_atomic  # noqa: E402
from headforge.morphable import load_head_model  # noqa: E402
from headforge.track.cache import LandmarkCache  # noqa: E402
from headforge.track.dense import DenseTerm, GaussianHead  # noqa: E402
from headforge.track.detect_mediapipe import MediaPipeDetector  # noqa: E402
from headforge.track.fit import fit_subject  # noqa: E402
from headforge.track.mapping import to_ibug68  # noqa: E402
from headforge.track.outputs import error_stats  # noqa: E402
from headforge.track.overlay import draw_overlay, sample_indices  # noqa: E402
from headforge.track.scene import View, build_scene  # noqa: E402

REALDATA = ROOT.parent / "shared" / "realdata"
CLIPS = ("liveportrait_d3.mp4", "pexels_wolfganglanger.mp4")
OUT = ROOT / "docs" / "track"
SIZE = 256


def decode(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def face_crop(frames: list[np.ndarray], det: MediaPipeDetector) -> tuple[int, int, int]:
    """(x0, y0, side) of one square crop, 2x the face box, from the first frame with a face."""
    h, w = frames[0].shape[:2]
    for f in frames[:30]:
        r = det.detect(f)
        if r.found and r.box is not None:
            x0, y0, x1, y1 = r.box
            side = int(min(2.0 * max(x1 - x0, y1 - y0), h, w))
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - 0.05 * side
            x = int(np.clip(cx - side / 2, 0, w - side))
            y = int(np.clip(cy - side / 2, 0, h - side))
            return x, y, side
    raise RuntimeError("no face in the first 30 frames")


def track_clip(
    name: str, cfg: TrackConfig, model, det: MediaPipeDetector, cache: LandmarkCache
) -> dict[str, object]:
    frames = decode(REALDATA / name)
    x, y, side = face_crop(frames, det)
    crops = [np.asarray(Image.fromarray(f[y:y + side, x:x + side]).resize(
        (SIZE, SIZE), Image.BILINEAR)) for f in frames]  # fmt: skip
    del frames
    t0 = time.perf_counter()
    lms = [cache.detect(det, c) for c in crops]
    t_lmk = time.perf_counter() - t0
    f = focal_from_fov(30.0, SIZE)
    K = intrinsics(f, f, SIZE / 2, SIZE / 2)
    stem = name.removesuffix(".mp4")
    views = [View(stem, "video", f"{i:06d}", K, np.eye(4), SIZE, SIZE, True)
             for i in range(len(crops))]  # fmt: skip
    imgs = torch.from_numpy(np.stack(crops)).float() / 255.0
    del crops
    dense = DenseTerm(GaussianHead(model, cfg.dense_parts), imgs, None, cfg.dense_resolution,
                      cfg.dense_views_per_step)  # fmt: skip
    t0 = time.perf_counter()
    res = fit_subject(model, build_scene(stem, views), lms, cfg, model.n_shape, model.n_expr,
                      dense=dense)  # fmt: skip
    t_fit = time.perf_counter() - t0
    _plots(stem, res, lms, model)
    counts: dict[str, int] = {}
    for fr in res.frames:
        counts[fr.status] = counts.get(fr.status, 0) + 1
    return {
        "frames": len(views), "crop": [x, y, side], "status_counts": counts,
        "not_ok": [{"frame": fr.key, "status": fr.status, "reason": fr.reason}
                   for fr in res.frames if fr.status != "ok"],
        "landmark_error_px_at_256": error_stats(res.view_error_px),
        "focal_scale": float(res.focal_scale[0]),
        "seconds": {"landmarks": round(t_lmk, 1), "fit": round(t_fit, 1),
                    "fit_per_frame": round(t_fit / len(views), 3)},
        "stages": {s.name: {"status": s.status, "steps": s.steps_run, "s": round(s.seconds, 1)}
                   for s in res.optim.stages},
    }  # fmt: skip


def _plots(stem: str, res, lms, model) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    OUT.mkdir(parents=True, exist_ok=True)
    err = res.view_error_px
    fig, ax = plt.subplots(figsize=(7, 2.6), dpi=110)
    ax.plot(np.arange(len(err)), err, lw=1.0, color="tab:blue", label="fitted vs detected")
    bad = [i for i, fr in enumerate(res.frames) if fr.status != "ok"]
    if bad:
        ax.scatter(bad, np.zeros(len(bad)), marker="x", color="tab:red", label="not ok")
    ax.set_xlabel("frame")
    ax.set_ylabel("mean landmark error [px @256]")
    ax.set_title(f"{stem}: mean {np.nanmean(err):.2f} px, p95 {np.nanpercentile(err, 95):.2f} px")
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT / f"real_{stem}_errors.png")
    plt.close(fig)
    ok = res.ok_frames()
    pick = [ok[i] for i in sample_indices(len(ok), 4)]
    with torch.no_grad():
        verts = model(**{k: v[pick] for k, v in res.params.per_frame().items()}).vertices
    tiles = []
    for n, fidx in enumerate(pick):
        K, w2c = res.final_camera(fidx)
        det68 = to_ibug68(lms[fidx]).points
        tiles.append(draw_overlay(verts[n].numpy(), model.faces.numpy(), K, w2c, SIZE, SIZE,
                                  det68, res.projected[fidx], image=None))  # fmt: skip
    Image.fromarray(np.concatenate(tiles, 1)).save(OUT / f"real_{stem}_fits.png")


def main() -> dict[str, object]:
    torch.set_num_threads(2)
    cfg = Context.load(ROOT, profile="tiny").params.track
    model = load_head_model()
    cache = LandmarkCache(ROOT / cfg.landmark_cache)
    out: dict[str, object] = {"benchmark": "track_real", "size": SIZE, "detector": "mediapipe"}
    with MediaPipeDetector() as det:
        for name in CLIPS:
            out[name] = track_clip(name, cfg, model, det, cache)
    write_text_atomic(OUT / "real_videos.json", json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    print(json.dumps(main()))
