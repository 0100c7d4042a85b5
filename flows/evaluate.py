"""DVC stage ``evaluate``: :func:`headforge.evaluate.entry.run`, one task per avatar bundle."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from flows._runners import fan_out
from headforge.context import Context
from headforge.evaluate import entry
from headforge.timing import stage_timer
from tasks.evaluate import evaluate_subject


@flow(name="evaluate")
def evaluate(root: Path | None = None) -> Path:
    """Score ``results/invert/*/`` and write ``results/evaluate/metrics.json`` + grids."""
    ctx = Context.load(root)
    each = fan_out(lambda name: evaluate_subject.submit(ctx, name), 1, get_run_logger())
    with stage_timer("evaluate", ctx.root):
        return entry.run(ctx, each=each)


if __name__ == "__main__":
    print(evaluate())
