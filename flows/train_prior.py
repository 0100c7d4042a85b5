"""DVC stage ``train_prior``: the base prior, trained on synthetic identities only.

Its only data dependency is ``data/synth``: a new capture or a forget never retrains it. The
adaptation to real subjects is the next stage, ``adapt_prior`` (``flows/adapt_prior.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from headforge.context import Context
from headforge.io_utils import write_text_atomic
from headforge.prior.stage import base_dir
from headforge.privacy.forget import clear_retrain_requests
from headforge.timing import stage_timer
from tasks.train_prior import train_base_prior


@flow(name="train_prior")
def train_prior(root: Path | None = None) -> dict[str, Any]:
    """Train (or resume) ``results/train_prior/base/``."""
    ctx = Context.load(root)
    base = ctx.root
    with stage_timer("train_prior", base):
        out = train_base_prior(ctx)
        write_text_atomic(base / "results" / "metrics" / "train_prior.json",
                          (base_dir(base) / "train_metrics.json").read_text())
        clear_retrain_requests(base, ["train_prior"])
    return out


if __name__ == "__main__":
    print(train_prior())
