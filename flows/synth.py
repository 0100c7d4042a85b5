"""DVC stage ``synth``: render the synthetic head dataset into ``data/synth/``.

    python -m flows.synth            # what `dvc repro synth` runs

Shards render in parallel (``synth.max_workers`` Blender processes, or a Dask cluster when
``synth.runner: dask``); a failed shard does not stop the others, but fails the stage at the end
with every shard's error, after the finished identities were validated and written to the
manifest. Finished shards show as a progress bar on a terminal, else as log lines
(``HEADFORGE_PROGRESS``, see :mod:`headforge.progress`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.futures import as_completed

from flows._runners import run_with_runner
from flows.server import shared_server
from headforge.config import EvaluateConfig, HeadModelConfig, SynthConfig, load_section, read_params
from headforge.paths import project_root
from headforge.progress import ProgressBoard
from headforge.synth import SynthFailed
from headforge.timing import stage_timer
from tasks.synth import prepare_synth, render_synth_shard, write_synth_manifest


@flow(name="synth")
def synth(root: str | None = None, profile: str | None = None) -> dict[str, Any]:
    """Render every shard, validate, write the manifest; returns the summary."""
    base = Path(root) if root else project_root()
    params = read_params(base / "params.yaml")
    cfg = load_section(SynthConfig, "synth", params, profile)
    head = load_section(HeadModelConfig, "head_model", params, profile)
    held_out = load_section(EvaluateConfig, "evaluate", params, profile).held_out
    with stage_timer("synth", base):
        ctx = prepare_synth.submit(cfg, base, held_out, head).result()
        t0 = time.perf_counter()
        futures = [render_synth_shard.submit(ctx, s, base) for s in range(ctx.n_shards)]
        with ProgressBoard(log=get_run_logger().info) as board:
            bar = board.add("synth shards", ctx.n_shards, "shards")
            for f in as_completed(futures):
                o = f.result()
                bar.advance(last=o.shard, ok="yes" if o.ok else "FAILED")
        outcomes = [f.result() for f in futures]
        summary = write_synth_manifest.submit(ctx, outcomes, time.perf_counter() - t0).result()
        if summary.failed:
            lines = "\n".join(f"  {k}: {v}" for k, v in sorted(summary.failed.items()))
            raise SynthFailed(f"{len(summary.failed)} of {summary.shards} shards failed "
                              f"(finished identities are in {summary.manifest}):\n{lines}")
    out = dataclasses.asdict(summary)
    out["images_per_second"] = summary.images_per_second
    return out


def run(root: str | None = None, profile: str | None = None) -> dict[str, Any]:
    """The stage as DVC runs it: :func:`synth` on the task runner ``synth.runner`` names
    (threads waiting on Blender processes, or Dask) in ``root``'s params.yaml."""
    base = Path(root) if root else project_root()
    cfg = load_section(SynthConfig, "synth", read_params(base / "params.yaml"), profile)
    out: dict[str, Any] = run_with_runner(synth, cfg, root=str(base), profile=profile)
    return out


def main() -> None:
    print(json.dumps(run(), indent=1))


if __name__ == "__main__":
    with shared_server():  # PREFECT_API_URL, else the project's shared server
        main()
