"""DVC stage ``invert``: avatars of held-out synthetic identities and tracked real subjects.

One task per subject on the task runner ``invert.runner`` names (threads, or Prefect's
DaskTaskRunner: see :mod:`flows._runners`, shared with synth and track); ``python -m
flows.invert`` and :func:`run` pick it. A subject whose inversion fails fails the run after the
others finished, naming each failed subject and why.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner

from flows._runners import run_with_runner, settle
from flows.server import shared_server
from headforge.config import EvaluateConfig, InvertConfig, load_section, read_params
from headforge.io_utils import write_text_atomic
from headforge.paths import data_dir, project_root, results_dir
from headforge.prior.data import read_manifest, split_subjects
from headforge.timing import stage_timer
from tasks.invert import invert_one


def subjects_to_invert(root: Path) -> list[tuple[str, bool]]:
    """(subject, is_real) pairs: held-out synthetic identities, then tracked real subjects."""
    params = read_params(root / "params.yaml")
    out: list[tuple[str, bool]] = []
    if load_section(InvertConfig, "invert", params).synthetic_subjects:
        man = data_dir("synth", root) / "manifest.parquet"
        if man.is_file():
            held_out = load_section(EvaluateConfig, "evaluate", params).held_out
            _, held = split_subjects(read_manifest(man), held_out)
            out += [(s, False) for s in held]
    captures = data_dir("captures", root) / "manifest.parquet"
    track = results_dir("track", root)
    if captures.is_file() and track.is_dir():
        known = set(read_manifest(captures)["subject"])
        out += [(p.name, True) for p in sorted(track.iterdir())
                if (p / "flame_params").is_dir() and p.name in known]
    return out


# called directly (not through :func:`run`), subjects go one at a time, as the default params say
@flow(name="invert", task_runner=ThreadPoolTaskRunner(max_workers=1))
def invert(root: Path | None = None) -> list[str]:
    """Write ``results/invert/<subject>/`` bundles and ``results/invert/index.json``."""
    base = root or project_root()
    cfg = load_section(InvertConfig, "invert", read_params(base / "params.yaml"))
    threads = max(1, (os.cpu_count() or 1) // max(1, cfg.max_workers))
    with stage_timer("invert", base):
        done, failed = settle([(s, invert_one.submit(base, s, real, threads))
                               for s, real in subjects_to_invert(base)], get_run_logger())
        if failed:
            raise RuntimeError("invert failed for " + "; ".join(f"{k}: {v}"
                                                              for k, v in failed.items()))
        write_text_atomic(results_dir("invert", base) / "index.json",
                          json.dumps([Path(d).name for d in done], indent=2))
    return done


def run(root: Path | None = None) -> list[str]:
    """The stage as DVC runs it: :func:`invert` on the task runner ``invert.runner`` names in
    ``root``'s params.yaml."""
    base = root or project_root()
    cfg = load_section(InvertConfig, "invert", read_params(base / "params.yaml"))
    out: list[str] = run_with_runner(invert, cfg, root=base)
    return out


if __name__ == "__main__":
    with shared_server():  # PREFECT_API_URL, else the project's shared server
        print(run())
