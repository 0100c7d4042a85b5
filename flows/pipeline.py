"""The whole chain as one Prefect flow, for deployment runs.

DVC still decides whether each stage reruns: every task is ``dvc repro --single-item <stage>``
in pipeline order, so unchanged stages are skipped and each stage shows up as a task with its
own retries and logs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from prefect import flow, get_run_logger, task

from flows.server import shared_server
from headforge.paths import project_root

ORDER = ["synth", "ingest", "track", "train_prior", "adapt_prior", "invert", "evaluate", "report"]


def pipeline_stages(root: Path) -> list[str]:
    """Stage names in ``dvc.yaml``, in pipeline order (unknown stages last, as listed)."""
    stages = list((yaml.safe_load((root / "dvc.yaml").read_text()) or {}).get("stages", {}))
    known = [s for s in ORDER if s in stages]
    return known + [s for s in stages if s not in ORDER]


def _dvc() -> list[str]:
    return [sys.executable, "-m", "dvc"]


@task(name="dvc-repro-stage", retries=1, retry_delay_seconds=5)
def repro_stage(stage: str, root: str, force: bool = False) -> str:
    """Run one DVC stage (skipped by DVC when nothing it depends on changed)."""
    cmd = [*_dvc(), "repro", "--single-item", stage] + (["--force"] if force else [])
    res = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"dvc repro {stage} failed:\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}")
    return res.stdout


@flow(name="pipeline")
def pipeline(root: str | None = None, stages: list[str] | None = None, force: bool = False) -> list[str]:
    """Reproduce the given stages (default: all of dvc.yaml) in order; returns those run."""
    base = Path(root) if root else project_root()
    todo = stages or pipeline_stages(base)
    log = get_run_logger()
    for stage in todo:
        out = repro_stage(stage, str(base), force)
        log.info("%s: %s", stage, "skipped (up to date)" if "didn't change" in out else "ran")
    return todo


if __name__ == "__main__":
    with shared_server():  # PREFECT_API_URL, else the project's shared server
        pipeline()
