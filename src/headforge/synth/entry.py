"""The ``synth`` stage's one entry: plan the shards, render each in its own Blender process,
validate, write the manifest.

``run(ctx)`` renders shards on a local thread pool (``synth.max_workers`` Blender processes at
once); the DVC flow passes ``each``, which gets the shared plan and returns an
:data:`~headforge.fanout.Each` submitting one Prefect task per shard (threads or Dask).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable

from headforge.context import Context
from headforge.fanout import Each
from headforge.synth.dataset import (
    DatasetSummary,
    ShardCallback,
    build_dataset,
    finish,
    prepare,
    raise_if_failed,
)
from headforge.synth.plan import PlanContext


def plan(ctx: Context) -> PlanContext:
    """Head model, camera rig and UV atlas shared by all shards."""
    p = ctx.params
    return prepare(p.synth, ctx.root, held_out=p.evaluate.held_out, head_model=p.head_model)


def run(ctx: Context, each: Callable[[PlanContext], Each] | None = None,
        on_shard: ShardCallback | None = None) -> DatasetSummary:
    """Render ``data/synth``; raises naming every failed shard (the finished ones are kept)."""
    p = ctx.params
    if each is None:
        return build_dataset(p.synth, ctx.root, held_out=p.evaluate.held_out,
                             head_model=p.head_model, on_shard=on_shard)
    shared = plan(ctx)
    shutil.rmtree(shared.staging_dir, ignore_errors=True)
    t0 = time.perf_counter()
    outcomes, failed = each(shared)([str(s) for s in range(shared.n_shards)])
    if failed:  # a task that crashed instead of returning its failed outcome
        raise RuntimeError("synth shards crashed: " + "; ".join(f"{k}: {v}"
                                                             for k, v in failed.items()))
    summary = finish(shared, outcomes, time.perf_counter() - t0)
    raise_if_failed(summary)
    return summary
