"""Place ``prefect``: Prefect's result storage (cached task results holding the subject's data)."""

from __future__ import annotations

from pathlib import Path

from headforge.privacy.forget.apply import Applier, remove_path
from headforge.privacy.forget.markers import find_in_blob, read_limited
from headforge.privacy.forget.model import Action, Kind
from headforge.privacy.forget.places import Place
from headforge.privacy.forget.scan import Detection, ScanContext, walk_files

NAME = "prefect"


def scan(ctx: ScanContext, det: Detection) -> None:
    """Prefect result-storage files holding or naming the subject's data."""
    n = 0
    for base in ctx.settings.prefect_storage:
        if not base.is_dir():
            continue
        for p in walk_files(base, ["."], []):
            n += 1
            data = read_limited(p, ctx.settings.max_scan_bytes)
            if data is None:
                continue
            found = find_in_blob(data, ctx.markers)
            if found:
                det.actions.append(Action(Kind.DELETE, NAME, str(p.resolve()), len(data),
                                          f"cached task result: {found.reason}"))
    det.checked[NAME] = n


def apply_delete(ap: Applier, a: Action) -> int:
    """Remove the file at the action's absolute path (``delete`` actions only)."""
    if a.kind is not Kind.DELETE:
        raise ValueError(f"{a.store}: unknown action kind {a.kind!r}")
    return remove_path(Path(a.target))


ENTRY = Place(NAME, "Prefect result storage: cached task results naming or holding the "
              "subject's data", scan=scan, apply=apply_delete)
