"""Prefect task of the ``adapt_prior`` stage: the base prior adapted to consented subjects."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from headforge.context import Context
from headforge.prior.entry import adapt_prior as adapt
from headforge.prior.progress import TrainProgress
from headforge.prior.train import TrainCallback
from headforge.progress import ProgressBoard
from tasks.train_prior import LiveCallback, live_in


@task(name="adapt-prior", retries=1, retry_delay_seconds=1, cache_policy=NO_CACHE,
      persist_result=False)
def adapt_prior(ctx: Context) -> dict[str, Any]:
    """Consent-checked adaptation with its lineage record; returns counts only (no ids)."""
    ctx.activate()
    steps = ctx.params.adapt_prior.steps
    with contextlib.ExitStack() as stack:
        def callbacks(folder: Path) -> list[TrainCallback]:
            live = stack.enter_context(live_in(folder))
            board = stack.enter_context(ProgressBoard(log=get_run_logger().info))
            bar = TrainProgress(board.add("adapt_prior", steps, "steps"))
            return [LiveCallback(live, "adapted"), bar]

        out = adapt(ctx, callbacks)
    return out.summary()
