"""DVC stage ``adapt_prior``: the base prior adapted to consented, tracked real subjects.

Writes ``results/train_prior/adapted/`` (checkpoint, ``train_metrics.json`` listing the
subjects, dvclive curves) and one lineage record naming those subjects, which is how a forget
finds the model, deletes it and queues this stage (only this one) for retraining.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import flow

from headforge.context import Context
from headforge.io_utils import write_text_atomic
from headforge.privacy.forget import clear_retrain_requests
from headforge.timing import stage_timer
from tasks.adapt_prior import adapt_prior as adapt_task


@flow(name="adapt_prior", persist_result=False)
def adapt_prior(root: Path | None = None) -> dict[str, Any]:
    """Adapt the base prior; returns counts and seconds (never subject ids)."""
    ctx = Context.load(root)
    base = ctx.root
    with stage_timer("adapt_prior", base):
        out = adapt_task(ctx)
        write_text_atomic(base / "results" / "metrics" / "adapt_prior.json",
                          json.dumps(out, indent=2))
        clear_retrain_requests(base, ["adapt_prior"])  # a forget's request is now satisfied
    return out


if __name__ == "__main__":
    print(adapt_prior())
