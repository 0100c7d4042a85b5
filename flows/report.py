"""DVC stage ``report``: a static HTML page summarising the run."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from headforge.context import Context
from headforge.timing import stage_timer
from tasks.report import write_report


@flow(name="report")
def report(root: Path | None = None) -> Path:
    """Write the report under ``results/report/``."""
    base = Context.load(root).root
    with stage_timer("report", base):
        return write_report(base)


if __name__ == "__main__":
    print(report())
