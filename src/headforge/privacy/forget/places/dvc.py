"""Place ``dvc``: ``.dvc`` data sources (``inbox.dvc``) whose tracked folder or file lost or
changed a file of the subject: re-recorded (``dvc commit -f``, ``dvc remove`` when empty)."""

from __future__ import annotations

from headforge.privacy.forget.apply import Applier
from headforge.privacy.forget.dvcstore import run_dvc
from headforge.privacy.forget.history import outs_of, working_dvc_files
from headforge.privacy.forget.model import Action, Kind
from headforge.privacy.forget.places import Place
from headforge.privacy.forget.plan import PlanContext

NAME = "dvc"


def plan(pc: PlanContext) -> list[Action]:
    """A ``recommit`` per ``.dvc`` file whose output holds a changed workspace path."""
    root = pc.settings.root
    changed = [a.target for a in pc.found if a.store == "workspace"]
    out = []
    for rel in working_dvc_files(root) if changed else []:
        f = root / rel
        if not rel.endswith(".dvc") or not f.is_file():
            continue
        for path, _md5 in outs_of(rel, f.read_bytes()):
            if any(c == path or c.startswith(path + "/") for c in changed):
                out.append(Action(Kind.RECOMMIT, NAME, rel, 0,
                                  f"re-record {path} without the subject's files"))
                break
    return out


def apply(ap: Applier, a: Action) -> int:
    """Re-record a ``.dvc`` data source; drop the file when its output is gone entirely."""
    if a.kind is not Kind.RECOMMIT:
        raise ValueError(f"{NAME}: unknown action kind {a.kind!r}")
    root, rel = ap.settings.root, a.target
    outs = outs_of(rel, (root / rel).read_bytes()) if (root / rel).is_file() else []
    if outs and not any((root / p).exists() for p, _ in outs):
        run_dvc(["remove", rel], root)
    elif outs:
        run_dvc(["commit", "--force", "--quiet", rel], root)
    return 0


ENTRY = Place(NAME, "DVC data sources (.dvc files) re-recorded without the subject's files",
              plan=plan, apply=apply, scoped=True)
