"""Where things live on disk, relative to the project root (the folder holding params.yaml)."""

from __future__ import annotations

import os
from pathlib import Path


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) that holds ``params.yaml``.

    ``HEADFORGE_ROOT`` overrides the search.
    """
    env = os.environ.get("HEADFORGE_ROOT")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if (p / "params.yaml").is_file():
            return p
    return here


def data_dir(stage: str, root: Path | None = None) -> Path:
    """``data/<stage>/`` below the project root."""
    return (root or project_root()) / "data" / stage


def results_dir(stage: str, root: Path | None = None) -> Path:
    """``results/<stage>/`` below the project root."""
    return (root or project_root()) / "results" / stage
