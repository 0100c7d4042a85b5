"""Prefect tasks of the ``evaluate`` stage: one task per avatar bundle."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from headforge.context import Context
from headforge.evaluate.entry import evaluate_one


@task(name="evaluate-subject", cache_policy=NO_CACHE)
def evaluate_subject(ctx: Context, name: str) -> tuple[str, dict[str, Any]]:
    """Scores of the bundle ``results/invert/<name>`` and its baseline."""
    ctx.activate()
    return name, evaluate_one(ctx, ctx.results("invert") / name)
