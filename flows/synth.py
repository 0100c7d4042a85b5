"""DVC stage ``synth``: render the synthetic head dataset into ``data/synth/``.

The stage is :func:`headforge.synth.entry.run`; this flow runs one task per shard (each a
Blender process) on the task runner ``synth.runner`` names (threads waiting on Blender
processes, or a Dask cluster); a failed shard does not stop the others, but fails the stage at
the end naming every failed shard.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from prefect import flow, get_run_logger

from flows._runners import fan_out
from headforge.context import Context
from headforge.progress import ProgressBoard
from headforge.synth import entry
from headforge.synth.plan import PlanContext
from headforge.timing import stage_timer
from tasks.synth import render_synth_shard


@flow(name="synth")
def synth(root: str | None = None, profile: str | None = None) -> dict[str, Any]:
    """Render every shard, validate, write the manifest; returns the summary."""
    ctx = Context.load(root, profile=profile)
    log = get_run_logger()
    with stage_timer("synth", ctx.root), ProgressBoard(log=log.info) as board:
        def each(plan: PlanContext) -> Any:
            bar = board.add("synth shards", plan.n_shards, "shards")

            def submit(key: str) -> Any:
                return render_synth_shard.submit(plan, int(key), ctx.root)

            def done(key: str, o: Any) -> None:
                bar.advance(last=o.shard, ok="yes" if o.ok else "FAILED")

            return fan_out(submit, plan.n_shards, log, done)

        summary = entry.run(ctx, each)
    out = dataclasses.asdict(summary)
    out["images_per_second"] = summary.images_per_second
    return out


def run(root: str | None = None, profile: str | None = None) -> dict[str, Any]:
    """The stage as DVC runs it: :func:`synth` on the task runner ``synth.runner`` names."""
    from flows._runners import run_with_runner

    ctx = Context.load(root, profile=profile)
    out: dict[str, Any] = run_with_runner(synth, ctx.params.synth, root=str(ctx.root),
                                          profile=profile)
    return out


def main() -> None:
    print(json.dumps(run(), indent=1))


if __name__ == "__main__":
    main()
