"""Synthetic-data throughput: images/s at 64x64 and 256x256 including every output.

    .venv/bin/python benchmarks/synth.py

Renders into a temporary folder with 2 render processes (1 Cycles thread each, the 2-core
setting of the tiny profile), 28 cameras, 8 samples. "Including all outputs" means: planning
(posing, textures, job files), process start-up, Cycles RGB + alpha + segmentation, PNG and
parameter files, read-back cameras, validation and the manifest. Also reports the start-up
cost per shard process (launch until Blender + BlenderProc + scene settings are ready), the
CPU seconds used per image by the render processes and by the host (planning, validation),
an idle-2-core estimate from them (comparable across loaded machines), and the load average
when it started (the machine is shared). Prints one JSON object last.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from headforge.config import SynthConfig  # noqa: E402
from headforge.synth import build_dataset  # noqa: E402

BASE = SynthConfig(cameras=28, samples=8, max_workers=2, threads_per_worker=1,
                   texture_size=256, shard_timeout_s=1800)


def _cpu() -> tuple[float, float]:
    """(CPU seconds of finished child processes, of this process)."""
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    s = resource.getrusage(resource.RUSAGE_SELF)
    return c.ru_utime + c.ru_stime, s.ru_utime + s.ru_stime


def measure(size: int, identities: int, expressions: int, per_shard: int) -> dict[str, float]:
    cfg = dataclasses.replace(BASE, width=size, height=size, identities=identities,
                              expressions=expressions, identities_per_shard=per_shard)
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        (c0, s0), t0 = _cpu(), time.perf_counter()
        summary = build_dataset(cfg, Path(tmp))
        wall = time.perf_counter() - t0
        c1, s1 = _cpu()
        render_cpu, host_cpu = c1 - c0, s1 - s0
    startup = summary.startup_seconds
    return {
        "images": summary.images,
        "shards": summary.shards,
        "seconds": round(summary.seconds, 2),
        "seconds_with_model_load": round(wall, 2),
        "images_per_s": round(summary.images / summary.seconds, 2),
        "render_cpu_s_per_image": round(render_cpu / summary.images, 4),
        "host_cpu_s_per_image": round(host_cpu / summary.images, 4),
        # what 2 otherwise idle cores would sustain: all CPU (incl. model load) spread on 2
        "images_per_s_idle_2_cores_est": round(2 * summary.images / (render_cpu + host_cpu), 2),
        "startup_s_per_shard": round(sum(startup) / len(startup), 2),
    }


def main() -> None:
    load = os.getloadavg()[0]
    result = {
        "benchmark": "synth",
        "cpu_count": os.cpu_count(),
        "loadavg_1min_at_start": round(load, 2),
        "cameras": BASE.cameras,
        "samples": BASE.samples,
        "render_processes": BASE.max_workers,
        "px64": measure(64, identities=4, expressions=4, per_shard=2),
        "px256": measure(256, identities=2, expressions=1, per_shard=1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
