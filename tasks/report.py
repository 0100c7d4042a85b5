"""Prefect tasks of the ``report`` stage."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from headforge.report import build_report


@task(name="write-report")
def write_report(root: Path) -> Path:
    """Build ``results/report/index.html`` from whatever the stages left."""
    return build_report(root)
