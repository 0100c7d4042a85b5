"""DVC stage ``benchmark``: the methods compared on ``benchmark.suite`` (docs/benchmark.md)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from headforge.paths import project_root
from headforge.timing import stage_timer
from tasks.benchmark import run_benchmark


@flow(name="benchmark")
def benchmark(root: Path | None = None) -> Path:
    """Write ``results/benchmark/`` and ``results/metrics/benchmark.json``."""
    base = root or project_root()
    with stage_timer("benchmark", base):
        return run_benchmark(base)


if __name__ == "__main__":
    print(benchmark())
