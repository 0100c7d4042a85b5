"""Place ``registry``: the subject's lineage records (dropped last, so a crashed run can
re-plan from them) and consents (withdrawn)."""

from __future__ import annotations

from headforge.privacy.forget.apply import Applier
from headforge.privacy.forget.model import Action, Hit, Kind
from headforge.privacy.forget.places import Place
from headforge.privacy.forget.plan import PlanContext
from headforge.privacy.forget.verify import VerifyContext

NAME = "registry"


def plan(pc: PlanContext) -> list[Action]:
    out = []
    manifests = {a.target for a in pc.found if a.kind is Kind.REWRITE_MANIFEST}
    to_unlink = sorted(r.artifact for r in pc.scan.lineage if r.artifact not in manifests)
    if to_unlink:
        out.append(Action(Kind.DELETE_LINEAGE, NAME, "lineage", len(to_unlink),
                          "lineage records of deleted artifacts", None, tuple(to_unlink)))
    scope = pc.scope
    active = [c for c in pc.registry.consents(pc.subject) if c.withdrawn_at is None
              and (scope in (None, "capture") or c.scope.value == scope)]
    if active:
        out.append(Action(Kind.WITHDRAW, NAME, scope or "all", len(active),
                          "mark the consent withdrawn"))
    return out


def apply(ap: Applier, a: Action) -> int:
    if a.kind is Kind.DELETE_LINEAGE:
        ap.registry.delete_lineage(list(a.data))
        return 0
    if a.kind is Kind.WITHDRAW:
        ap.registry.withdraw(ap.plan.subject, None if a.target == "all" else a.target)
        return 0
    raise ValueError(f"{NAME}: unknown action kind {a.kind!r}")


def verify(vc: VerifyContext) -> list[Hit]:
    lineage = vc.scan.lineage
    return [Hit(NAME, "lineage", f"{len(lineage)} lineage record(s) left")] if lineage else []


ENTRY = Place(NAME, "privacy registry: lineage records dropped, consents withdrawn",
              plan=plan, apply=apply, verify=verify, scoped=True)
