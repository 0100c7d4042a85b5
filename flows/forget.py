"""Flow ``forget``: plan -> preview -> approve -> apply -> verify -> audit for one subject.

``python -m flows.forget <subject> [--dry-run] [--yes] [--scope S]``. Without ``--yes`` a run
inside a deployment pauses for approval (Prefect UI form); a local run stops after the preview.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, pause_flow_run
from prefect.input import RunInput
from prefect.runtime import deployment

from flows.server import shared_server
from headforge.paths import project_root
from headforge.privacy.forget import format_plan, needs_apply, outcome_status
from tasks import forget as t


class ApproveForget(RunInput):
    """Approval form shown while a ``forget`` deployment run is paused."""

    approve: bool = False


def in_deployment() -> bool:
    """True when this flow run was started from a deployment."""
    return deployment.id is not None


def ask_approval(preview: str, timeout_s: int) -> bool:
    """Pause the run until someone approves or rejects the deletion in the Prefect UI."""
    form = ApproveForget.with_initial_data(
        description=f"Approve the deletion?\n\n```\n{preview}\n```", approve=False)
    answer = pause_flow_run(wait_for_input=form, timeout=timeout_s)
    return bool(answer.approve)


@flow(name="forget", persist_result=False)
def forget(subject: str, dry_run: bool = False, yes: bool = False, root: str | None = None,
           scope: str | None = None) -> dict[str, Any]:
    """Forget ``subject`` everywhere (or only what consent ``scope`` covered).

    Returns counts and the salted subject digest only; raises when verify still finds data.
    """
    base = str(Path(root) if root else project_root())
    log = get_run_logger()
    settings = t.load_forget_settings(base)
    prior = t.resume(settings, subject, dry_run)
    p = t.plan(settings, subject, scope, prior, dry_run)
    print(format_plan(p), flush=True)  # the full preview goes to the terminal only
    summary: dict[str, Any] = {"subject_sha256": p.digest, "counts": p.counts(),
                               "bytes": p.total_bytes, "retrain": p.retrain_stages}
    if dry_run:
        return {**summary, "status": "dry-run"}
    if not needs_apply(p, prior):
        t.redact_own_run(settings, p)
        ver = t.verify(settings, p)
        return {**summary, "status": "nothing-to-do" if ver.ok else "incomplete",
                "verify": ver.summary()}
    if not yes and prior.applied is None:
        if not in_deployment():
            print("not applied: rerun with --yes to delete", flush=True)
            return {**summary, "status": "not-approved"}
        if not ask_approval(format_plan(p, private=True), settings.config.approval_timeout_s):
            log.info("deletion of %s rejected", p.digest[:12])
            return {**summary, "status": "not-approved"}
    applied = t.apply(settings, p, prior)
    if settings.config.retrain_after_forget and p.retrain_stages:
        t.retrain(settings, p.retrain_stages)
    t.redact_own_run(settings, p)  # its parameters name the subject; other runs were deleted
    ver = t.verify(settings, p)
    entry = t.audit(settings, p, applied, ver, "request")
    status = outcome_status(applied, ver)
    result = {**summary, "status": status, "verify": ver.summary(), "audit_seq": entry.seq,
              "failed": len(applied.failed)}
    if status != "forgotten":
        raise RuntimeError(
            f"forget incomplete for subject {p.digest[:12]}: {len(applied.failed)} action(s) "
            f"failed, verify found {len(ver.hits)} place(s) still holding data "
            f"({ver.summary()['hits']}); fix them and run the forget again")
    return result


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m flows.forget", description=__doc__)
    ap.add_argument("subject")
    ap.add_argument("--dry-run", action="store_true", help="plan and preview only")
    ap.add_argument("--yes", action="store_true", help="apply without asking")
    ap.add_argument("--scope", default=None, help="only what this consent scope covered")
    ap.add_argument("--root", default=None, help="project root (default: the current one)")
    a = ap.parse_args(argv)
    with shared_server(Path(a.root) if a.root else None):  # PREFECT_API_URL, else shared
        out = forget(a.subject, dry_run=a.dry_run, yes=a.yes, root=a.root, scope=a.scope)
    print(f"status: {out['status']}", flush=True)
    return 0 if out["status"] != "not-approved" or a.dry_run else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
