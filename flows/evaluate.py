"""DVC stage ``evaluate``: metrics of every avatar bundle, prior vs no-prior baseline."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.server import shared_server
from headforge.paths import project_root, results_dir
from headforge.timing import stage_timer
from tasks.evaluate import evaluate_subject, write_metrics


@flow(name="evaluate")
def evaluate(root: Path | None = None) -> Path:
    """Score ``results/invert/*/`` and write ``results/evaluate/metrics.json`` + grids."""
    base = root or project_root()
    with stage_timer("evaluate", base):
        inv = results_dir("invert", base)
        bundles = sorted(p for p in inv.iterdir() if (p / "card.json").is_file()) \
            if inv.is_dir() else []
        per_subject = {b.name: evaluate_subject(base, b) for b in bundles}
        return write_metrics(base, per_subject)


if __name__ == "__main__":
    with shared_server():  # PREFECT_API_URL, else the project's shared server
        print(evaluate())
