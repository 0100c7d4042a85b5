"""DVC stage ``benchmark``: :func:`headforge.evaluate.benchmark.run` on ``benchmark.suite``
(docs/benchmark.md)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from headforge.context import Context
from headforge.timing import stage_timer
from tasks.benchmark import run_benchmark


@flow(name="benchmark")
def benchmark(root: Path | None = None) -> Path:
    """Write ``results/benchmark/`` and ``results/metrics/benchmark.json``."""
    ctx = Context.load(root)
    with stage_timer("benchmark", ctx.root):
        return run_benchmark(ctx)


if __name__ == "__main__":
    print(benchmark())
