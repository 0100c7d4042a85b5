"""Prefect task of the ``benchmark`` stage."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from headforge.context import Context
from headforge.evaluate.benchmark import run


@task(name="run-benchmark")
def run_benchmark(root: Path) -> Path:
    """Run the suite ``benchmark.suite`` names; returns the DVC metrics file."""
    return run(Context.load(root)).metrics_path
