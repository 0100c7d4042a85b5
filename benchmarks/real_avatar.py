"""Benchmark: avatars of a real monocular clip, scored under the benchmark protocol.

A thin caller of :func:`headforge.evaluate.benchmark.run` (the library entry that
``headforge benchmark`` and the DVC stage ``benchmark`` use): by default the suite
``suites/real_d3.yaml`` (``../shared/realdata/liveportrait_d3.mp4``: self-reenactment from 1
and 3 input frames, the last 4 sampled frames held out), every registered method, the
project's params.yaml and prior checkpoint (``benchmark.prior_checkpoint``; train it with
``dvc repro train_prior``). Results go to ``results/benchmark/`` and
``results/metrics/benchmark.json`` (git-ignored: the clip's frames never enter the repository).

Run from the repo root: ``.venv/bin/python benchmarks/real_avatar.py [--suite NAME]``.
Prints one JSON object (the metrics: per method and protocol, with wall and CPU seconds) as
its last line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default="real_d3", help="suites/<NAME>.yaml")
    ap.add_argument("--methods", default="", help="comma-separated (default: params.yaml)")
    ap.add_argument("--realdata", default="", help="folder of the clips (default: the suite's)")
    args = ap.parse_args()

    from headforge.context import Context
    from headforge.evaluate.benchmark import run

    res = run(Context.load(ROOT), suite=args.suite,
              methods=[m for m in args.methods.split(",") if m] or None,
              realdata=args.realdata or None)
    print(json.dumps(res.summary["metrics"]))


if __name__ == "__main__":
    main()
