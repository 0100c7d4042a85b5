"""Prefect task of the ``adapt_prior`` stage: the base prior adapted to consented subjects."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from headforge.config import AdaptPriorConfig, HeadModelConfig, TrainPriorConfig, load_section
from headforge.prior.adapt import run_adaptation
from headforge.prior.progress import TrainProgress
from headforge.prior.train import TrainCallback
from headforge.privacy import Registry
from headforge.progress import ProgressBoard
from tasks.train_prior import LiveCallback, live_in


@task(name="adapt-prior", retries=1, retry_delay_seconds=1, cache_policy=NO_CACHE,
      persist_result=False)
def adapt_prior(root: Path) -> dict[str, Any]:
    """Consent-checked adaptation with its lineage record; returns counts only (no ids)."""
    cfg = load_section(TrainPriorConfig, "train_prior")
    adapt_cfg = load_section(AdaptPriorConfig, "adapt_prior")
    head_cfg = load_section(HeadModelConfig, "head_model")
    with contextlib.ExitStack() as stack, Registry.from_config(root) as reg:

        def callbacks(folder: Path) -> list[TrainCallback]:
            live = stack.enter_context(live_in(folder))
            board = stack.enter_context(ProgressBoard(log=get_run_logger().info))
            bar = TrainProgress(board.add("adapt_prior", adapt_cfg.steps, "steps"))
            return [LiveCallback(live, "adapted"), bar]

        out = run_adaptation(cfg, adapt_cfg, head_cfg, root, reg, callbacks)
    return out.summary()
