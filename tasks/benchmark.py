"""Prefect task of the ``benchmark`` stage."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from headforge.context import Context
from headforge.evaluate.benchmark import run


@task(name="run-benchmark", cache_policy=NO_CACHE)
def run_benchmark(ctx: Context) -> Path:
    """Run the suite ``benchmark.suite`` names; returns the DVC metrics file."""
    ctx.activate()
    return run(ctx).metrics_path
