"""Benchmark: wall time of a 3-shot inversion at 128 x 128, and prior-training steps/s.

Runs on the fixture dataset of ``benchmarks/fixtures/synthetic_heads.py`` (rendered at 128 px)
with the tiny profile's ``train_prior`` and ``invert`` settings, on the threads torch is given
(set ``--threads 2`` to mimic the 2-core target). Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--train-steps", type=int, default=60, help="prior steps to time")
    ap.add_argument("--resolution", type=int, default=128, help="inversion resolution")
    ap.add_argument("--work", type=Path, default=None, help="keep data here (default: temp)")
    args = ap.parse_args()

    import torch

    from benchmarks.fixtures.synthetic_heads import FixtureSpec, cached_dataset
    from headforge.context import Context
    from headforge.invert.core import invert
    from headforge.invert.stage import load_prior, synthetic_subject_inputs
    from headforge.prior.data import read_manifest, split_subjects
    from headforge.prior.stage import load_head, synthetic_training_views
    from headforge.prior.train import train

    torch.set_num_threads(args.threads)
    work = args.work or Path(tempfile.mkdtemp(prefix="hf-bench-invert-"))
    spec = FixtureSpec(identities=4, expressions=2, resolution=args.resolution, held_out=1,
                       uv_res=64)
    manifest = cached_dataset(work, spec)
    params = Context.load(Path(__file__).resolve().parents[1], profile="tiny").params
    tcfg = dataclasses.replace(params.train_prior,
                               steps=args.train_steps, checkpoint_every=10**9)
    views, held = synthetic_training_views(tcfg, 1, manifest=manifest)
    head, parts = load_head(params.head_model)
    shutil.rmtree(work / "prior", ignore_errors=True)  # time a fresh run, never a resume
    t0 = time.perf_counter()
    res = train(tcfg, views, work / "prior", head, parts)
    train_s = time.perf_counter() - t0

    prior = load_prior(res.checkpoint, params.head_model, "cpu")
    icfg = dataclasses.replace(params.invert, shots=3,
                               resolution=args.resolution)
    chosen = synthetic_subject_inputs(read_manifest(manifest), held[0], icfg, manifest.parent)
    t0, c0 = time.perf_counter(), time.process_time()
    inv = invert(prior, chosen.inputs, icfg)
    invert_s, invert_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({
        "benchmark": "invert",
        "threads": args.threads,
        "resolution": args.resolution,
        "shots": int(chosen.inputs.images.shape[0]),
        "invert_seconds": round(invert_s, 2),
        "invert_cpu_seconds": round(invert_cpu, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "invert_steps": {s.name: s.steps_run for s in inv.stages},
        "invert_target_seconds": 180,
        "train_steps": res.steps,
        "train_resolution": tcfg.resolution,
        "train_batch": tcfg.batch,
        "train_steps_per_second": round(res.steps / train_s, 3),
        "gaussians": res.n_gaussians,
        "train_subjects": len(split_subjects(read_manifest(manifest), 1)[0]),
    }))


if __name__ == "__main__":
    main()
