"""``headforge status``: what exists, which stages are stale, consents and pending retention."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Status:
    """A summary of the project's state."""

    outputs: dict[str, int] = field(default_factory=dict)
    """stage output folder -> number of files in it."""
    stale: dict[str, Any] = field(default_factory=dict)
    """``dvc status --json``: stage -> what changed (empty when everything is up to date)."""
    dvc_error: str = ""
    """Why ``dvc status`` could not be read, if it could not."""
    subjects: int = 0
    """Subjects in the registry."""
    consents: list[dict[str, Any]] = field(default_factory=list)
    """One row per consent: subject, scope, valid."""
    pending_retention: list[str] = field(default_factory=list)
    """Subjects whose consent expired and whose data retention would forget."""


def _count(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def collect_status(root: Path, registry: Any | None = None) -> Status:
    """Gather the status of the project at ``root`` (registry optional)."""
    st = Status()
    for base in ("data", "results"):
        for d in sorted((root / base).glob("*")):
            if d.is_dir():
                st.outputs[f"{base}/{d.name}"] = _count(d)
    res = subprocess.run(
        [sys.executable, "-m", "dvc", "status", "--json"], cwd=root, capture_output=True, text=True
    )
    if res.returncode == 0:
        try:
            st.stale = json.loads(res.stdout or "{}")
        except json.JSONDecodeError:
            st.dvc_error = res.stdout.strip()[:500]
    else:
        st.dvc_error = (res.stderr or res.stdout).strip()[:500]
    if registry is not None:
        st.subjects = len(registry.subjects())
        for c in registry.consents():
            st.consents.append(
                {"subject": c.subject_id, "scope": str(c.scope), "valid": registry.has_consent(
                    c.subject_id, c.scope)}
            )
        st.pending_retention = sorted({c.subject_id for c in registry.expired_consents()})
    return st
