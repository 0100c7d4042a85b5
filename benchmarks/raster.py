"""CPU benchmark of the torch Gaussian rasterizer (one camera).

Measures forward and backward wall/CPU time and peak resident memory of the tile rasterizer at
10k Gaussians / 128x128 and 50k / 256x256, and its speed-up over the dense brute-force
reference (every Gaussian x every pixel) where that reference fits in memory. Each case runs in
its own subprocess so that peak memory (``ru_maxrss``) is per case.

    .venv/bin/python benchmarks/raster.py [--reps 3] [--threads 1] [--compare-threads 2] [--quick]

Prints one JSON object as the last line. The main cases use one torch thread: on a shared,
oversubscribed 2-core machine OpenMP's spinning worker threads make 2 threads several times
slower than 1 (the ``--compare-threads`` cases show it; ``OMP_WAIT_POLICY=PASSIVE`` mostly fixes
it). Timings taken while other jobs run are pessimistic: the JSON records the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCALES = (0.005, 0.05)  # metres; the scene is a 1.2 m ball seen from 3 m with a 40 deg FOV


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_case(backend: str, n: int, res: int, backward: bool, reps: int, threads: int) -> dict:
    """One measurement in this process: times (ms), peak RSS growth (MB), image statistics."""
    import torch

    from headforge.splat.render import rasterize
    from headforge.splat.scenes import random_scene

    if threads > 0:
        torch.set_num_threads(threads)
    scene = random_scene(n, res, res, seed=0, scale_range=SCALES)
    inputs = [t.detach().clone().requires_grad_(backward) for t in scene.tensors()]
    base_rss = _rss_mb()
    fwd, bwd, fwd_cpu, bwd_cpu = [], [], [], []
    out = None
    for i in range(reps + 1):  # the first run warms up and is not timed
        for t in inputs:
            t.grad = None
        c0, t0 = time.process_time(), time.perf_counter()
        with torch.set_grad_enabled(backward):
            out = rasterize(*inputs, scene.Ks, res, res, backend=backend)  # type: ignore[arg-type]
        c1, t1 = time.process_time(), time.perf_counter()
        if backward:
            loss = out.image.sum() + out.alpha.sum() + (out.depth * out.alpha).sum()
            loss.backward()
        c2, t2 = time.process_time(), time.perf_counter()
        if i:
            fwd.append(1e3 * (t1 - t0))
            bwd.append(1e3 * (t2 - t1))
            fwd_cpu.append(1e3 * (c1 - c0))
            bwd_cpu.append(1e3 * (c2 - c1))
    assert out is not None
    result = {
        "backend": backend,
        "gaussians": n,
        "resolution": res,
        "threads": torch.get_num_threads(),
        "forward_ms": round(statistics.median(fwd), 1),
        "forward_cpu_ms": round(statistics.median(fwd_cpu), 1),
        "peak_rss_growth_mb": round(_rss_mb() - base_rss, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
        "mean_alpha": round(float(out.alpha.mean()), 4),
    }
    if backward:
        result["backward_ms"] = round(statistics.median(bwd), 1)
        result["backward_cpu_ms"] = round(statistics.median(bwd_cpu), 1)
        result["forward_backward_ms"] = round(result["forward_ms"] + result["backward_ms"], 1)
        result["forward_backward_cpu_ms"] = round(
            result["forward_cpu_ms"] + result["backward_cpu_ms"], 1)  # fmt: skip
    if backend == "torch":
        result["tile_intersections"] = int(out.meta["n_isects"])
    return result


def _spawn(
    backend: str, n: int, res: int, backward: bool, reps: int, threads: int
) -> dict:
    cmd = [sys.executable, __file__, "--case", backend, str(n), str(res), str(int(backward)),
           "--reps", str(reps), "--threads", str(threads)]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"backend": backend, "gaussians": n, "resolution": res, "failed": " | ".join(tail)}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _ratio(ref: dict, ours: dict, key: str) -> float | None:
    if "failed" in ref or "failed" in ours or key not in ref or key not in ours:
        return None
    return round(ref[key] / ours[key], 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads for the main cases (0: torch default)")
    p.add_argument("--compare-threads", type=int, default=2,
                   help="also time the torch cases with this many threads (0: skip)")
    p.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    p.add_argument("--case", nargs=4, metavar=("BACKEND", "N", "RES", "BACKWARD"))
    args = p.parse_args()
    if args.case:
        b, n, res, bw = args.case
        print(json.dumps(run_case(b, int(n), int(res), bool(int(bw)), args.reps, args.threads)))
        return

    small, large, ref_res = ((1000, 32), (5000, 64), 16) if args.quick else (
        (10_000, 128), (50_000, 256), 64)  # fmt: skip
    load = os.getloadavg()[0]
    th, reps = args.threads, args.reps
    cases = {
        "torch_small": _spawn("torch", *small, True, reps, th),
        "torch_large": _spawn("torch", *large, True, reps, th),
        # The dense reference keeps every Gaussian x pixel intermediate for backward (8.5 GB
        # at 10k / 128^2), so fwd+bwd is compared at a lower resolution, forward at full size.
        "torch_small_lowres": _spawn("torch", small[0], ref_res, True, reps, th),
        "reference_small_lowres": _spawn("reference", small[0], ref_res, True, 1, th),
        "reference_small_forward": _spawn("reference", *small, False, 1, th),
    }
    if args.compare_threads:
        ct = args.compare_threads
        cases[f"torch_small_{ct}threads"] = _spawn("torch", *small, True, reps, ct)
        cases[f"torch_large_{ct}threads"] = _spawn("torch", *large, True, reps, ct)
    ts, tl = cases["torch_small"], cases["torch_large"]
    summary: dict = {
        "benchmark": "raster",
        "device": "cpu",
        "cpu_count": os.cpu_count(),
        "load_average_1min_at_start": round(load, 2),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "scene": f"random ball, scales {SCALES[0]}-{SCALES[1]} m, 1 camera, RGB + depth",
        "cases": cases,
        "speedup_vs_reference_forward_backward_lowres": _ratio(
            cases["reference_small_lowres"], cases["torch_small_lowres"], "forward_backward_ms"),
        "speedup_vs_reference_forward": _ratio(
            cases["reference_small_forward"], ts, "forward_ms"),
        # CPU-time ratios are less sensitive to other jobs on the machine than wall time
        "speedup_vs_reference_forward_backward_lowres_cpu": _ratio(
            cases["reference_small_lowres"], cases["torch_small_lowres"], "forward_backward_cpu_ms"),
        "speedup_vs_reference_forward_cpu": _ratio(
            cases["reference_small_forward"], ts, "forward_cpu_ms"),
    }  # fmt: skip
    if "failed" not in ts:
        summary["target_small_fwd_bwd_le_500ms"] = ts["forward_backward_ms"] <= 500
    if "failed" not in tl:
        summary["target_large_peak_le_2gb"] = tl["peak_rss_mb"] <= 2048
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
