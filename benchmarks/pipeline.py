"""Per-stage wall times of the tiny profile and the time of a no-op ``dvc repro``.

Run from the repo root with the project's venv: ``.venv/bin/python benchmarks/pipeline.py``
(add ``--run`` to reproduce the whole pipeline first, with ``--force`` to rerun every stage).
Prints one JSON object as its last line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from headforge.timing import read_timings  # noqa: E402


def main(argv: list[str]) -> dict[str, object]:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result: dict[str, object] = {"benchmark": "pipeline", "profile": "tiny"}
    if "--run" in argv:
        cmd = [sys.executable, "-m", "flows.server", "--", sys.executable, "-m", "dvc", "repro"]
        if "--force" in argv:
            cmd.append("--force")
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
        result["pipeline_wall_s"] = round(time.perf_counter() - t0, 2)
    timings = read_timings(ROOT)
    result["stage_wall_s"] = {k: round(v, 2) for k, v in timings.items()}
    result["stages_total_s"] = round(sum(timings.values()), 2)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "dvc", "repro"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    result["noop_repro_s"] = round(time.perf_counter() - t0, 2)
    result["noop_ran_nothing"] = "Running stage" not in out.stdout
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
