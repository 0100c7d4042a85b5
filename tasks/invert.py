"""Prefect tasks of the ``invert`` stage: one avatar bundle per subject."""

from __future__ import annotations

import torch
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from headforge.context import Context
from headforge.invert.entry import invert_one, subjects


@task(name="invert-subject", cache_policy=NO_CACHE)
def invert_subject(ctx: Context, subject: str, threads: int = 0) -> str:
    """Invert one subject (held-out synthetic identity or tracked real clip) to a bundle;
    ``threads`` > 0 sets torch's intra-op threads in the process that runs it (a thread of the
    flow or a Dask worker)."""
    ctx.activate()
    if threads > 0:
        torch.set_num_threads(threads)
    kind = subjects(ctx)[subject]
    return str(invert_one(ctx, subject, kind, log=get_run_logger().info))
