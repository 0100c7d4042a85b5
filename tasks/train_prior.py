"""Prefect tasks of the ``train_prior`` stage (the base prior on synthetic identities)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dvclive import Live
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from headforge.context import Context
from headforge.prior.entry import train_prior
from headforge.prior.progress import TrainProgress
from headforge.prior.stage import base_dir
from headforge.prior.train import TrainCallback
from headforge.progress import ProgressBoard

LOGGED = ("loss", "psnr", "l1", "dssim", "mask", "offset", "scale")


class LiveCallback(TrainCallback):
    """Training curves into dvclive (TSV under ``<dir>/plots/metrics``), resumable."""

    def __init__(self, live: Live, prefix: str) -> None:
        self.live = live
        self.prefix = prefix

    def on_step(self, step: int, metrics: dict[str, float]) -> None:
        self.live.step = step
        for k in LOGGED:
            if k in metrics:
                self.live.log_metric(f"{self.prefix}/{k}", metrics[k])


def live_in(folder: Path) -> Live:
    """A resumable dvclive logger writing into ``<folder>/dvclive`` (inside the stage output)."""
    return Live(dir=str(folder / "dvclive"), resume=True, save_dvc_exp=False, dvcyaml=None)


def _board() -> ProgressBoard:
    """Bars on a terminal, else progress lines in the task's log."""
    return ProgressBoard(log=get_run_logger().info)


@task(name="train-base-prior", retries=1, retry_delay_seconds=1, cache_policy=NO_CACHE)
def train_base_prior(ctx: Context) -> dict[str, Any]:
    """Train the base prior on synthetic identities (a retry resumes from the checkpoint)."""
    ctx.activate()
    with live_in(base_dir(ctx.root)) as live, _board() as board:
        bar = TrainProgress(board.add("train_prior base", ctx.params.train_prior.steps, "steps"))
        res = train_prior(ctx, callbacks=[LiveCallback(live, "base"), bar])
    return {"checkpoint": str(res.checkpoint), "steps": res.steps,
            "resumed_from": res.resumed_from, "seconds": res.seconds}
