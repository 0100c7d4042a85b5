"""After a deletion: scan everything again; the subject must be found nowhere."""

from __future__ import annotations

import dataclasses
import functools

from headforge.privacy.forget.dvcstore import ObjectStore, open_stores
from headforge.privacy.forget.model import ForgetPlan, Hit, VerifyResult
from headforge.privacy.forget.places import visited
from headforge.privacy.forget.plan import RegistryLike, open_context
from headforge.privacy.forget.scan import (
    Detection,
    ScanContext,
    detect,
    dvc_stores,
    recreated_by_others,
)
from headforge.privacy.forget.settings import ForgetSettings


@dataclasses.dataclass
class VerifyContext:
    """What a place's ``verify`` step sees: the plan, the re-scan and the hits so far."""

    settings: ForgetSettings
    plan: ForgetPlan
    scan: ScanContext
    det: Detection
    """The re-scan (its actions are already hits)."""
    hits: list[Hit]
    """Hits so far (the re-scan's, then those of the places verified before)."""

    @functools.cached_property
    def recreated(self) -> set[str]:
        """Planned object ids that a current output of someone else holds again (kept)."""
        return recreated_by_others(self.scan, self.plan.subject_oids - self.det.subject_oids,
                                   dvc_stores(self.scan))


def verify_forgotten(settings: ForgetSettings, registry: RegistryLike, plan: ForgetPlan,
                     stores: tuple[ObjectStore | None, list[ObjectStore]] | None = None,
                     ) -> VerifyResult:
    """Re-scan every place (workspace, cache, remotes, run-caches, Prefect storage and API,
    DVC state, git history), then run each place's own check.

    Uses the plan's content index (hashes and fragments of files that no longer exist), checks
    that none of the plan's object ids is left in any store, and that the registry holds no
    lineage of the subject (for a scoped forget: none of that scope's stages).
    """
    stores = stores if stores is not None else open_stores(settings.layout, settings.root)
    ctx = open_context(settings, registry, plan.subject, plan.scope, plan.index, stores)
    det = detect(ctx)
    vc = VerifyContext(settings, plan, ctx, det, [Hit(a.store, a.target, a.reason)
                                                  for a in det.actions])
    for place in visited(ctx.scoped):
        if place.verify is not None:
            vc.hits += place.verify(vc)
    return VerifyResult(ok=not vc.hits, hits=vc.hits, checked=det.checked)
