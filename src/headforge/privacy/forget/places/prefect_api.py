"""Place ``prefect-api``: flow runs (and their logs) of Prefect's API database; see
:mod:`headforge.privacy.forget.prefect_runs`."""

from __future__ import annotations

from headforge.privacy.forget.apply import Applier
from headforge.privacy.forget.model import Action, Hit, Kind
from headforge.privacy.forget.places import Place
from headforge.privacy.forget.plan import PlanContext
from headforge.privacy.forget.prefect_runs import (
    STORE,
    apply_flow_run,
    orphan_log_hit,
    own_run_hit,
    scan_flow_runs,
)
from headforge.privacy.forget.scan import Detection, ScanContext
from headforge.privacy.forget.verify import VerifyContext

NAME = STORE


def scan(ctx: ScanContext, det: Detection) -> None:
    """Flow runs of Prefect's API whose parameters, name, tags or logs name the subject."""
    catalog = ctx.settings.flow_runs
    if catalog is None:
        return
    actions, n, orphans = scan_flow_runs(catalog, ctx.markers.subject, ctx.markers.pattern)
    det.actions += actions
    det.checked[NAME] = n
    det.prefect_orphan_logs = orphans


def plan(pc: PlanContext) -> list[Action]:
    if pc.det.prefect_orphan_logs:
        pc.notes.append(f"{pc.det.prefect_orphan_logs} Prefect log line(s) of runs that no "
                        "longer exist name the subject: verify will report them (no API "
                        "deletes them)")
    return []


def apply(ap: Applier, a: Action) -> int:
    if a.kind is not Kind.DELETE_FLOW_RUN:
        raise ValueError(f"{a.store}: unknown action kind {a.kind!r}")
    if ap.settings.flow_runs is None:
        raise RuntimeError("the plan deletes Prefect flow runs but no Prefect API is "
                           "configured now: run the forget flow (it connects to it)")
    return apply_flow_run(ap.settings.flow_runs, a)


def verify(vc: VerifyContext) -> list[Hit]:
    """Log lines of deleted runs, and this forget's own run if it still names the subject."""
    hits = [orphan_log_hit(vc.det.prefect_orphan_logs)] if vc.det.prefect_orphan_logs else []
    catalog = vc.settings.flow_runs
    own = own_run_hit(catalog, vc.scan.markers.pattern) if catalog is not None else None
    return hits + ([own] if own is not None else [])


ENTRY = Place(NAME, "Prefect API: flow runs whose parameters, name, tags or logs name the "
              "subject", scan=scan, plan=plan, apply=apply, verify=verify)
