"""Video ingestion throughput: frames per second at 512x512 output on 2 CPU threads.

Ingests each real video in ``../shared/realdata`` (relative to the repo root) as a monocular
capture in a throw-away project root (own params.yaml and SQLite consent registry), sampling
``--frames`` frames at ``--fps``. Reports end-to-end frames/s (consent check, decode, face
detection, crop, selfie-segmentation mask, PNG encode, staged write, commit + manifest +
lineage), the time per phase, and CPU seconds per frame (all threads; unlike wall time it
does not depend on what else the machine runs). Prints one JSON object as its last line.

    .venv/bin/python benchmarks/ingest.py [--frames 48] [--fps 10] [--resolution 512]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
VIDEOS = ["liveportrait_d3.mp4", "pexels_wolfganglanger.mp4"]


def bench_video(video: Path, frames: int, fps: float, resolution: int) -> dict[str, object]:
    from headforge.context import Context
    from headforge.ingest import commit_subjects, stage_subject

    with tempfile.TemporaryDirectory(prefix="headforge-bench-") as tmp:
        root = Path(tmp)
        (root / "params.yaml").write_text(
            "profile: tiny\npaths:\n  registry_url: sqlite:///registry/headforge.sqlite\n"
        )
        sid = "bench-0001"
        (root / "inbox" / sid).mkdir(parents=True)
        shutil.copy(video, root / "inbox" / sid / video.name)
        ctx = Context.load(root, overrides={"ingest": {
            "resolution": resolution, "max_frames": frames, "video_fps": fps}})
        cfg = ctx.params.ingest
        with ctx.registry() as reg:
            reg.add_subject(sid)
            reg.grant(sid, "capture", evidence="benchmark")
            c0, t0 = time.process_time(), time.perf_counter()
            staged = stage_subject(sid, cfg, reg, root)
            t1 = time.perf_counter()
            commit_subjects([staged], reg, root)
            t2, c2 = time.perf_counter(), time.process_time()
        n = len(staged.rows)
        return {
            "video": video.name,
            "frames": n,
            "frames_per_s": round(n / (t2 - t0), 2),
            "total_s": round(t2 - t0, 3),
            "cpu_s_per_frame": round((c2 - c0) / n, 4),
            "phase_s": {**{k: round(v, 3) for k, v in staged.timings.items()},
                        "commit": round(t2 - t1, 3)},
            "mask_method": staged.mask_method,
        }


def main(argv: list[str]) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--resolution", type=int, default=512)
    args = ap.parse_args(argv)
    import cv2

    cv2.setNumThreads(2)
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 2:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])
    realdata = ROOT.parent / "shared" / "realdata"
    runs = [bench_video(realdata / v, args.frames, args.fps, args.resolution) for v in VIDEOS
            if (realdata / v).is_file()]
    if not runs:
        raise SystemExit(f"no benchmark videos in {realdata}")
    total_frames = sum(int(str(r["frames"])) for r in runs)
    total_s = sum(float(str(r["total_s"])) for r in runs)
    return {
        "benchmark": "ingest",
        "resolution": args.resolution,
        "cpu_threads": 2,
        "cpu": platform.processor() or platform.machine(),
        "frames_per_s": round(total_frames / total_s, 2),
        "runs": runs,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
