"""DVC stage ``ingest``: :func:`headforge.ingest.entry.run`, one staging task per subject
(``ingest.max_workers`` at a time), committed together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from flows._runners import fan_out
from headforge.context import Context
from headforge.ingest import entry
from headforge.timing import stage_timer
from tasks.ingest import stage


@flow(name="ingest")
def ingest(
    subjects: list[str] | None = None, root: Path | None = None, skip_failed: bool = False
) -> dict[str, Any]:
    """Ingest ``subjects`` (default: every inbox folder); returns a JSON-able summary."""
    ctx = Context.load(root)
    log = get_run_logger()
    each = fan_out(lambda s: stage.submit(ctx, s), ctx.params.ingest.max_workers, log)
    with stage_timer("ingest", ctx.root):
        out = entry.run(ctx, subjects, skip_failed, each)
    log.info("ingest: %d subject(s), %d row(s), %d failed", len(out["subjects"]), out["rows"],
             len(out["failed"]))  # counts only: Prefect keeps log lines, forget cannot edit them
    return out


if __name__ == "__main__":
    ingest()
