"""Prefect tasks of the ``track`` stage: one consent-checked fit per subject."""

from __future__ import annotations

import torch
from prefect import task
from prefect.cache_policies import NO_CACHE

from headforge.context import Context
from headforge.track.entry import track_one
from headforge.track.stage import SubjectOutcome
from tasks._retry import retry_on_io


@task(name="track-subject", retries=1, retry_delay_seconds=2, retry_condition_fn=retry_on_io,
      cache_policy=NO_CACHE)
def track_subject(ctx: Context, subject: str, threads: int = 1) -> SubjectOutcome:
    """Consent-checked tracking of one subject, with lineage records.

    Sets torch's intra-op threads to ``threads`` in whatever process runs it (a thread of the
    flow, or a Dask worker), so every runner computes with the same thread count and writes
    the same bytes.
    """
    ctx.activate()
    torch.set_num_threads(max(1, threads))
    return track_one(ctx, subject)
