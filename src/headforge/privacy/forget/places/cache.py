"""Place ``cache``: the project's DVC cache (every object id of the subject's data, from every
version in git history)."""

from __future__ import annotations

from headforge.privacy.forget.apply import Applier
from headforge.privacy.forget.dvcstore import ObjectStore
from headforge.privacy.forget.model import Action, Hit, Kind, StoreName
from headforge.privacy.forget.places import Place
from headforge.privacy.forget.scan import Detection, ScanContext, object_listings
from headforge.privacy.forget.verify import VerifyContext

NAME = "cache"


def scan_objects(ctx: ScanContext, det: Detection, family: str,
                 stores: list[ObjectStore]) -> None:
    """A ``delete_object`` action per object of the subject in ``stores``."""
    listings = object_listings(ctx, det)
    for s in stores:
        store = str(store_name(family, s))
        det.checked[family] = det.checked.get(family, 0) + len(listings[s.name])
        for oid, size in listings[s.name]:
            if oid in det.subject_oids:
                det.actions.append(Action(Kind.DELETE_OBJECT, store, oid, size,
                                          "object of the subject's data"))


def store_name(family: str, s: ObjectStore) -> StoreName:
    """``cache`` for the cache, ``remote:<name>`` for a remote."""
    return StoreName(family) if family == NAME else StoreName(family, s.name)


def apply_object(ap: Applier, a: Action) -> int:
    if a.kind is not Kind.DELETE_OBJECT:
        raise ValueError(f"{a.store}: unknown action kind {a.kind!r}")
    return ap.object_store(a.store_name).delete(a.target)


def objects_left(vc: VerifyContext, family: str, stores: list[ObjectStore]) -> list[Hit]:
    """Planned (or found) object ids still in ``stores`` that no scan hit names already."""
    hits: list[Hit] = []
    for s in stores:
        store = str(store_name(family, s))
        present = {oid for oid, _ in s.iter_objects()}
        for oid in sorted((vc.plan.subject_oids | vc.det.subject_oids) & present - vc.recreated):
            if not any(h.target == oid and h.store == store for h in vc.hits):
                hits.append(Hit(store, oid, "object of the subject's data still stored"))
    return hits


def _stores(ctx: ScanContext) -> list[ObjectStore]:
    return [ctx.cache] if ctx.cache is not None else []


ENTRY = Place(NAME, "DVC cache: objects of every version of the subject's data",
              scan=lambda ctx, det: scan_objects(ctx, det, NAME, _stores(ctx)),
              apply=apply_object,
              verify=lambda vc: objects_left(vc, NAME, _stores(vc.scan)),
              scoped=True)
