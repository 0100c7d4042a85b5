"""DVC stage ``track``: :func:`headforge.track.entry.run`, one task per subject.

``track.max_workers`` subjects at a time, on the task runner ``track.runner`` names (threads, or
Prefect's DaskTaskRunner: see :mod:`flows._runners`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from flows._runners import fan_out, run_with_runner, threads_per_task
from headforge.context import Context
from headforge.timing import stage_timer
from headforge.track import entry
from tasks.track import track_subject


@flow(name="track")
def track(
    subjects: list[str] | None = None, root: Path | None = None, skip_failed: bool = False
) -> dict[str, Any]:
    """Track ``subjects`` (default: all in the captures manifest); returns a summary."""
    ctx = Context.load(root)
    log = get_run_logger()
    workers = max(1, ctx.params.track.max_workers)
    threads = threads_per_task(workers)
    each = fan_out(lambda s: track_subject.submit(ctx, s, threads), workers, log)
    with stage_timer("track", ctx.root):
        out = entry.run(ctx, subjects, skip_failed, each)
    log.info("track: %d subject(s) tracked, %d failed", len(out["tracked"]),
             len(out["failed"]))  # counts only: Prefect keeps log lines, forget cannot edit them
    return out


def run(root: Path | None = None, subjects: list[str] | None = None) -> dict[str, Any]:
    """The stage as DVC runs it: :func:`track` on the task runner ``track.runner`` names."""
    ctx = Context.load(root)
    out: dict[str, Any] = run_with_runner(track, ctx.params.track, subjects=subjects, root=ctx.root)
    return out


if __name__ == "__main__":
    run()
