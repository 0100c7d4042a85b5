"""Place ``dvc-state``: DVC's own state databases and scratch files (``.dvc/tmp``, the site
cache dir), which name the subject's paths; DVC rebuilds them."""

from __future__ import annotations

from pathlib import Path

from headforge.privacy.forget.markers import read_limited
from headforge.privacy.forget.model import Action, Kind
from headforge.privacy.forget.places import Place
from headforge.privacy.forget.places.prefect import apply_delete
from headforge.privacy.forget.scan import Detection, ScanContext, walk_files

NAME = "dvc-state"


def scan(ctx: ScanContext, det: Detection) -> None:
    """DVC's state databases and scratch files naming the subject's paths (caches only)."""
    st = ctx.settings
    bases = [st.root / ".dvc" / "tmp"]
    if st.layout.site_cache_dir:
        bases.append(st.layout.site_cache_dir)
    n = 0
    for base in bases:
        if not base.is_dir():
            continue
        for p in walk_files(base, ["."], []):
            n += 1
            data = read_limited(p, st.max_scan_bytes)
            if data is not None and ctx.markers.pattern.search(data):
                for q in [p, Path(f"{p}-wal"), Path(f"{p}-shm"), Path(f"{p}-journal")]:
                    if q.is_file():
                        det.actions.append(Action(Kind.DELETE, NAME, str(q.resolve()),
                                                  q.stat().st_size,
                                                  "DVC state database naming the subject"))
    det.checked[NAME] = n


ENTRY = Place(NAME, "DVC state databases and scratch files naming the subject's paths",
              scan=scan, apply=apply_delete)
