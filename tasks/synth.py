"""Prefect tasks of the ``synth`` stage: one task per shard, each a Blender process."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from headforge.synth import ShardOutcome, render_shard
from headforge.synth.plan import PlanContext


@task(name="render-synth-shard", cache_policy=NO_CACHE)
def render_synth_shard(ctx: PlanContext, shard: int, root: Path) -> ShardOutcome:
    """Plan, render (own Blender process) and validate one shard.

    A failed shard is returned, not raised, so the other shards finish; the flow reports it.
    Not cached by Prefect: DVC decides whether the stage reruns.
    """
    outcome = render_shard(ctx, shard, root)
    log = get_run_logger()
    if outcome.ok:
        log.info("%s: %d images in %.1f s", outcome.shard, len(outcome.rows),
                 outcome.result.seconds)
    else:
        log.error("%s failed: %s", outcome.shard,
                  "; ".join([outcome.result.error, *outcome.errors]).strip("; "))
    return outcome
