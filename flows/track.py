"""DVC stage ``track``: FLAME-format fits of every captured subject into ``results/track/``.

One task per subject, ``track.max_workers`` at a time, on the task runner ``track.runner``
names (threads, or Prefect's DaskTaskRunner: see :mod:`flows._runners`, shared with synth;
``python -m flows.track`` and :func:`run` pick it); a subject that cannot be
tracked (no consent, no frames) fails the run after the others finished, unless
``skip_failed``. Frames without a face or with a failed fit never fail the run: they are
listed with their reason in each subject's ``track_report.json``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from flows._runners import run_with_runner, settle
from flows.server import shared_server
from headforge.config import TrackConfig, load_section, read_params
from headforge.paths import project_root
from headforge.timing import stage_timer
from tasks.track import load_config, read_captures, summarise, track_one


@flow(name="track")
def track(
    subjects: list[str] | None = None, root: Path | None = None, skip_failed: bool = False
) -> dict[str, Any]:
    """Track ``subjects`` (default: all in the captures manifest); returns a summary."""
    base = root or project_root()
    log = get_run_logger()
    with stage_timer("track", base):
        cfg, head_cfg = load_config(base)
        captures = read_captures(base)
        todo = subjects or sorted(captures)
        workers = max(1, cfg.max_workers)
        threads = max(1, (os.cpu_count() or 1) // workers)
        outcomes, failed = [], {}
        for i in range(0, len(todo), workers):
            batch = []
            for s in todo[i : i + workers]:
                if s not in captures:
                    failed[s] = "subject has no frames in data/captures/manifest.parquet: ingest it"
                    continue
                batch.append((s, track_one.submit(s, captures[s], cfg, head_cfg, base, threads)))
            done, bad = settle(batch, log)
            outcomes += done
            failed.update(bad)
        summarise(outcomes, failed, base)
    if failed and not skip_failed:
        raise RuntimeError("track failed for " + "; ".join(f"{k}: {v}" for k, v in failed.items()))
    summary = {
        "tracked": [o.subject for o in outcomes],
        "failed": failed,
        "status_counts": {o.subject: o.report["status_counts"] for o in outcomes},
    }
    log.info("track: %d subject(s) tracked, %d failed", len(outcomes),
             len(failed))  # counts only: Prefect keeps log lines, forget cannot edit them
    return summary


def run(root: Path | None = None, subjects: list[str] | None = None) -> dict[str, Any]:
    """The stage as DVC runs it: :func:`track` on the task runner ``track.runner`` names in
    ``root``'s params.yaml."""
    base = root or project_root()
    cfg = load_section(TrackConfig, "track", read_params(base / "params.yaml"))
    out: dict[str, Any] = run_with_runner(track, cfg, subjects=subjects, root=base)
    return out


if __name__ == "__main__":
    with shared_server():  # PREFECT_API_URL, else the project's shared server
        run()
