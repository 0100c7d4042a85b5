"""The ``ingest`` stage's one entry: which inbox subjects, consent, staging, the commit.

``run(ctx)`` is what the DVC stage (``flows/ingest.py``) and ``headforge ingest run`` call.
Without an ``each`` it stages subjects one after the other and stops at the first failure
(raising it: a consent refusal or a capture error names its fix); the flow passes an
:data:`~headforge.fanout.Each` that stages subjects as tasks and collects every failure. Either
way nothing is committed unless every subject staged (or ``skip_failed``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from headforge.context import Context
from headforge.fanout import Each, failure_message
from headforge.ingest.errors import CaptureError
from headforge.ingest.ingest import (
    CommitResult,
    StagedSubject,
    commit_subjects,
    discard_staged,
    ingest_subjects,
    list_subjects,
    stage_subject,
)


def stage_one(ctx: Context, subject: str) -> StagedSubject:
    """Check consent, validate and normalise one subject's capture into staging."""
    with ctx.registry() as reg:
        return stage_subject(subject, ctx.params.ingest, reg, ctx.root)


def summary(res: CommitResult, failed: dict[str, str]) -> dict[str, Any]:
    """JSON-able summary of a run."""
    return {"subjects": res.subjects, "rows": res.rows, "manifest_sha256": res.manifest_sha256,
            "failed": dict(failed)}


def run(ctx: Context, only: Sequence[str] | None = None, skip_failed: bool = False,
        each: Each | None = None) -> dict[str, Any]:
    """Ingest ``only`` those subjects (default: every inbox folder) into ``data/captures``."""
    todo = list(only or list_subjects(ctx.params.ingest, ctx.root))
    if not todo and only is None and each is None:
        raise CaptureError(f"no subject folders in {ctx.params.ingest.inbox}/: add "
                           f"{ctx.params.ingest.inbox}/<subject>/ with its photos or video")
    if each is None:
        with ctx.registry() as reg:
            return summary(ingest_subjects(todo, ctx.params.ingest, reg, ctx.root), {})
    staged: list[StagedSubject]
    staged, failed = each(todo)
    if failed and not skip_failed:
        for st in staged:
            discard_staged(st.staging)
        raise RuntimeError(failure_message("ingest", failed) + "; nothing was committed")
    with ctx.registry() as reg:
        res = commit_subjects(staged, reg, ctx.root)  # with no subject: rewrites the manifest
    return summary(res, failed)
