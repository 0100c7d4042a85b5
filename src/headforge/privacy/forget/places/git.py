"""Place ``git``: files of the scanned folders committed to git (any revision) that hold the
subject. Reported only: history is never rewritten here (that would change every clone); verify
fails until they are removed (``git filter-repo``) and forget runs again."""

from __future__ import annotations

from headforge.privacy.forget.history import git_blobs
from headforge.privacy.forget.markers import find_in_blob
from headforge.privacy.forget.model import Action, Hit
from headforge.privacy.forget.places import Place
from headforge.privacy.forget.plan import PlanContext
from headforge.privacy.forget.scan import Detection, ScanContext
from headforge.privacy.forget.verify import VerifyContext

NAME = "git"


def scan(ctx: ScanContext, det: Detection) -> None:
    st, mk = ctx.settings, ctx.markers
    blobs = git_blobs(st.root, list(st.config.scan_paths), st.max_scan_bytes)
    det.checked[NAME] = len(blobs)
    for path, data in blobs:
        if mk.names_other(path) and not mk.names(path):
            continue
        if mk.names(path) or find_in_blob(data, mk):
            if path not in det.git:
                det.git.append(path)


def plan(pc: PlanContext) -> list[Action]:
    """No action (history is not rewritten): a review line and a note per run."""
    pc.review += [f"git history: {p}" for p in pc.det.git]
    if pc.det.git:
        pc.notes.append(f"{len(pc.det.git)} file(s) of the subject are committed to git "
                        "history; forget does not rewrite history: use `git filter-repo "
                        "--invert-paths --path <file>` and force-push, then run forget again")
    return []


def verify(vc: VerifyContext) -> list[Hit]:
    return [Hit(NAME, path, "committed to git history: remove it with "
                f"`git filter-repo --invert-paths --path {path}`, then forget again")
            for path in vc.det.git]


ENTRY = Place(NAME, "git history of the scanned folders: reported (rewrite it with "
              "git filter-repo)", scan=scan, plan=plan, verify=verify)
