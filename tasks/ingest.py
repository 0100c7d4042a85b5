"""Prefect tasks of the ``ingest`` stage: one consent-checked staging per subject."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from headforge.context import Context
from headforge.ingest import StagedSubject
from headforge.ingest.entry import stage_one
from tasks._retry import retry_on_io


@task(name="stage-subject", retries=2, retry_delay_seconds=2, retry_condition_fn=retry_on_io,
      cache_policy=NO_CACHE)
def stage(ctx: Context, subject: str) -> StagedSubject:
    """Check consent, validate and normalise one subject's capture into staging."""
    return stage_one(ctx, subject)
