"""The ``invert`` stage's one entry: which subjects, which prior, which inputs, the bundles.

``run(ctx)`` is what the DVC stage (``flows/invert.py``), the CLI (``headforge invert run``),
``headforge avatar`` and the benchmarks call; the flow only passes an :data:`~headforge.fanout.Each`
that runs :func:`invert_one` per subject as Prefect tasks. Real subjects are inverted with the
prior adapted to consented real captures when it exists, else with the base prior.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from headforge.context import Context
from headforge.fanout import Each, failure_message, serial
from headforge.invert.stage import (
    SubjectInputs,
    invert_subject,
    load_prior,
    real_subject_inputs,
    synthetic_subject_inputs,
)
from headforge.io_utils import write_text_atomic
from headforge.prior.data import read_manifest, split_subjects
from headforge.prior.stage import adapted_dir, base_dir
from headforge.progress import ProgressBoard, StageProgress

REAL = "real"
SYNTHETIC = "synthetic"


def subjects(ctx: Context) -> dict[str, str]:
    """subject -> kind: held-out synthetic identities (when ``invert.synthetic_subjects``), then
    every tracked real subject that is in the captures manifest."""
    out: dict[str, str] = {}
    man = ctx.data("synth") / "manifest.parquet"
    if ctx.params.invert.synthetic_subjects and man.is_file():
        _, held = split_subjects(read_manifest(man), ctx.params.evaluate.held_out)
        out.update((s, SYNTHETIC) for s in held)
    captures = ctx.data("captures") / "manifest.parquet"
    track = ctx.results("track")
    if captures.is_file() and track.is_dir():
        known = set(read_manifest(captures)["subject"])
        out.update((p.name, REAL) for p in sorted(track.iterdir())
                   if (p / "flame_params").is_dir() and p.name in known)
    return out


def prior_checkpoint(ctx: Context, kind: str) -> Path:
    """The adapted prior for real subjects when it exists, else the base prior."""
    adapted = adapted_dir(ctx.root) / "prior.pt"
    if kind == REAL and adapted.is_file():
        return adapted
    base = base_dir(ctx.root) / "prior.pt"
    if not base.is_file():
        raise FileNotFoundError(f"no trained prior at {base.relative_to(ctx.root)}: run "
                                "`dvc repro train_prior` (or `headforge prior train`) first")
    return base


def choose_inputs(ctx: Context, subject: str, kind: str, manifest: Path | None = None
                  ) -> SubjectInputs:
    """The subject's input views by the documented rule (see :mod:`headforge.invert.stage`)."""
    cfg = ctx.params.invert
    if kind == REAL:
        man = manifest or ctx.data("captures") / "manifest.parquet"
        return real_subject_inputs(read_manifest(man), subject, cfg, ctx.results("track"))
    man = manifest or ctx.data("synth") / "manifest.parquet"
    return synthetic_subject_inputs(read_manifest(man), subject, cfg, man.parent)


def invert_one(ctx: Context, subject: str, kind: str, *, checkpoint: Path | None = None,
               manifest: Path | None = None, out: Path | None = None, baseline: bool = True,
               log: Callable[[str], None] | None = None) -> Path:
    """Invert one subject and write its bundle (default ``results/invert/<subject>``)."""
    ckpt = checkpoint or prior_checkpoint(ctx, kind)
    prior = load_prior(ckpt, ctx.params.head_model, str(ctx.device))
    chosen = choose_inputs(ctx, subject, kind, manifest)
    with ProgressBoard(log=log) as board:
        steps = StageProgress(board, subject)
        path = invert_subject(prior, chosen, ctx.params.invert,
                              out or ctx.results("invert") / subject, subject, ckpt,
                              baseline=baseline, callback=steps, root=ctx.root)
        steps.close()
    return path


def preview_one(ctx: Context, subject: str, kind: str, path: Path,
                checkpoint: Path | None = None) -> float:
    """Write the feed-forward avatar of ``subject`` (photos above its renders, no per-subject
    optimisation) to ``path`` from the same prior and inputs :func:`invert_one` uses; returns
    the seconds it took."""
    from headforge.invert.feedforward import write_preview

    ckpt = checkpoint or prior_checkpoint(ctx, kind)
    prior = load_prior(ckpt, ctx.params.head_model, str(ctx.device))
    return write_preview(prior, choose_inputs(ctx, subject, kind).inputs, path)


def run(ctx: Context, only: Sequence[str] | None = None, each: Each | None = None,
        log: Callable[[str], None] | None = None) -> list[str]:
    """Invert every subject (or ``only`` those), write ``results/invert/index.json``; raises
    naming every failed subject after the others finished."""
    todo = subjects(ctx)
    if only is not None:
        unknown = sorted(set(only) - set(todo))
        if unknown:
            raise ValueError(f"invert: {unknown} are neither held-out synthetic identities nor "
                             "tracked real subjects: run track first")
        todo = {s: todo[s] for s in only}
    runner = each or serial(lambda s: str(invert_one(ctx, s, todo[s], log=log)))
    done, failed = runner(list(todo))
    if failed:
        raise RuntimeError(failure_message("invert", failed))
    write_text_atomic(ctx.results("invert") / "index.json",
                      json.dumps([Path(d).name for d in done], indent=2))
    return [str(d) for d in done]
