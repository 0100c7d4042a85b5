"""The ``track`` stage's one entry: which subjects, consent, fitting, the summary.

``run(ctx)`` is what the DVC stage (``flows/track.py``) and ``headforge track run`` call; the
flow passes an :data:`~headforge.fanout.Each` that runs :func:`track_one` per subject as tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from headforge.context import Context
from headforge.fanout import Each, failure_message, serial
from headforge.track.scene import View
from headforge.track.stage import SubjectOutcome, read_subjects, run_subject, write_summary

NOT_INGESTED = "subject has no frames in data/captures/manifest.parquet: ingest it"


def captures(ctx: Context) -> dict[str, list[View]]:
    """subject -> views, from ``data/captures/manifest.parquet``."""
    return read_subjects(ctx.data("captures") / "manifest.parquet", ctx.root)


def track_one(ctx: Context, subject: str, views: list[View] | None = None) -> SubjectOutcome:
    """Consent-checked tracking of one subject, with its lineage records."""
    if views is None:
        views = captures(ctx).get(subject)
    if not views:
        raise ValueError(f"{subject}: {NOT_INGESTED}")
    with ctx.registry() as reg:
        return run_subject(subject, views, ctx.params.track, ctx.params.head_model, ctx.root, reg)


def summary(outcomes: Sequence[SubjectOutcome], failed: dict[str, str]) -> dict[str, Any]:
    """What the stage returns: who was tracked, who failed and why, frame status counts."""
    return {
        "tracked": [o.subject for o in outcomes],
        "failed": dict(failed),
        "status_counts": {o.subject: o.report["status_counts"] for o in outcomes},
    }


def run(ctx: Context, only: Sequence[str] | None = None, skip_failed: bool = False,
        each: Each | None = None) -> dict[str, Any]:
    """Track ``only`` those subjects (default: every subject in the captures manifest); writes
    ``results/metrics/track.json``; raises naming the failed subjects unless ``skip_failed``."""
    views = captures(ctx)
    todo = list(only or sorted(views))
    failed = {s: NOT_INGESTED for s in todo if s not in views}
    runner = each or serial(lambda s: track_one(ctx, s, views[s]))
    outcomes, bad = runner([s for s in todo if s in views])
    failed.update(bad)
    write_summary(ctx.results("metrics") / "track.json", outcomes, failed)
    if failed and not skip_failed:
        raise RuntimeError(failure_message("track", failed))
    return summary(outcomes, failed)
