"""DVC stage ``invert``: avatars of held-out synthetic identities and tracked real subjects."""

from __future__ import annotations

import json
from pathlib import Path

from prefect import flow

from headforge.config import EvaluateConfig, InvertConfig, load_section
from headforge.io_utils import write_text_atomic
from headforge.paths import data_dir, project_root, results_dir
from headforge.prior.data import read_manifest, split_subjects
from headforge.timing import stage_timer
from tasks.invert import invert_one


def subjects_to_invert(root: Path) -> list[tuple[str, bool]]:
    """(subject, is_real) pairs: held-out synthetic identities, then tracked real subjects."""
    out: list[tuple[str, bool]] = []
    if load_section(InvertConfig, "invert").synthetic_subjects:
        man = data_dir("synth", root) / "manifest.parquet"
        if man.is_file():
            _, held = split_subjects(read_manifest(man), load_section(EvaluateConfig,
                                                                      "evaluate").held_out)
            out += [(s, False) for s in held]
    captures = data_dir("captures", root) / "manifest.parquet"
    track = results_dir("track", root)
    if captures.is_file() and track.is_dir():
        known = set(read_manifest(captures)["subject"])
        out += [(p.name, True) for p in sorted(track.iterdir())
                if (p / "flame_params").is_dir() and p.name in known]
    return out


@flow(name="invert")
def invert(root: Path | None = None) -> list[str]:
    """Write ``results/invert/<subject>/`` bundles and ``results/invert/index.json``."""
    base = root or project_root()
    with stage_timer("invert", base):
        done = [invert_one(base, s, real) for s, real in subjects_to_invert(base)]
        write_text_atomic(results_dir("invert", base) / "index.json",
                          json.dumps([Path(d).name for d in done], indent=2))
    return done


if __name__ == "__main__":
    print(invert())
