"""Place ``run-cache``: DVC's run-cache of the cache and of every remote; store names
``run-cache:<store>`` (``run-cache:cache``, ``run-cache:<remote>``)."""

from __future__ import annotations

from headforge.privacy.forget.apply import Applier
from headforge.privacy.forget.dvcstore import run_cache_hashes
from headforge.privacy.forget.model import Action, Kind, StoreName
from headforge.privacy.forget.places import Place
from headforge.privacy.forget.scan import Detection, ScanContext, dvc_stores, object_listings

NAME = "run-cache"


def scan(ctx: ScanContext, det: Detection) -> None:
    """Entries whose deps/outs name an object of the subject (or, unscoped, the subject)."""
    object_listings(ctx, det)  # decides det.subject_oids
    mk = ctx.markers
    for s in dvc_stores(ctx):
        n = 0
        for key, data in s.iter_run_cache():
            n += 1
            md5s, paths = run_cache_hashes(data)
            if md5s & det.subject_oids or (not ctx.scoped and (
                    mk.pattern.search(data) or any(mk.names(p) for p in paths))):
                det.actions.append(Action(Kind.DELETE_RUN, str(StoreName(NAME, s.name)), key,
                                          len(data), "run-cache entry of the subject's objects"))
        det.checked[NAME] = det.checked.get(NAME, 0) + n


def apply(ap: Applier, a: Action) -> int:
    if a.kind is not Kind.DELETE_RUN:
        raise ValueError(f"{a.store}: unknown action kind {a.kind!r}")
    detail = a.store_name.detail
    store = StoreName("cache") if detail == "cache" else StoreName("remote", detail)
    return ap.object_store(store).delete_run_cache(a.target)


ENTRY = Place(NAME, "DVC run-cache (cache and remotes): entries naming the subject's objects",
              scan=scan, apply=apply, scoped=True)
