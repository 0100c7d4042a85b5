"""The benchmark: methods compared on a suite of real captures under the fixed protocol.

:func:`run` is the one entry (``headforge benchmark``, the DVC stage ``benchmark`` and the
benchmarks script call it): load the suite, ingest and track its captures in a private work
folder (:mod:`.captures`), build the protocol's tasks (:mod:`.protocol`), fit every method
once per input set (timed: wall and process CPU seconds), render the scored frames, score them
(:mod:`.scoring`) and write the results (:mod:`.bench_results`).
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from headforge.context import Context
from headforge.evaluate.bench_results import write_results
from headforge.evaluate.captures import prepare
from headforge.evaluate.methods import Fitted, MethodEnv, get_method
from headforge.evaluate.protocol import build_tasks
from headforge.evaluate.run import render_views
from headforge.evaluate.scoring import Scorer
from headforge.evaluate.suite import SuiteError, load_suite


@dataclasses.dataclass
class BenchmarkRun:
    """What :func:`run` wrote."""

    metrics_path: Path
    """``results/metrics/benchmark.json`` (DVC metrics)."""
    out_dir: Path
    """``results/benchmark``: summary.json, per_frame.csv, table.md, grids/."""
    summary: dict[str, Any]


def run(ctx: Context, suite: str | None = None, methods: Sequence[str] | None = None,
        realdata: str | None = None, out_dir: Path | None = None,
        metrics_path: Path | None = None) -> BenchmarkRun:
    """Run suite ``suite`` (default ``benchmark.suite``) for ``methods`` (default
    ``benchmark.methods``) and write the results."""
    cfg = ctx.params.benchmark
    st = load_suite(ctx.root, suite or cfg.suite)
    names = list(methods or cfg.methods)
    fits = {m: get_method(m) for m in names}
    ckpt = ctx.path(cfg.prior_checkpoint)
    if not ckpt.is_file():
        raise SuiteError(f"prior checkpoint {ckpt} not found: train it first "
                         "(dvc repro train_prior) or set benchmark.prior_checkpoint")
    used = sorted({*st.self_reenactment, *st.photo_set,
                   *(n for pair in st.cross_reenactment for n in pair)})
    needs_realdata = any(st.captures[n].kind == "realdata" for n in used)
    rd = st.realdata_dir(ctx.root, realdata or cfg.realdata) if needs_realdata else None
    torch.set_num_threads(cfg.threads)
    out = out_dir or ctx.results("benchmark")
    work = ctx.root / "results" / "cache" / "benchmark-work"
    shutil.rmtree(work, ignore_errors=True)
    t_all = time.perf_counter()
    try:
        prep = prepare(ctx, st, used, work, rd)
        icfg = dataclasses.replace(ctx.params.invert, resolution=cfg.resolution)
        tasks = build_tasks(st, prep, icfg)
        from headforge.invert.stage import load_prior

        prior = load_prior(ckpt, ctx.params.head_model, str(ctx.device))
        from headforge.morphable import load_head_model

        scorer = Scorer(ctx.params.track, load_head_model(ctx.params.head_model),
                        str(ctx.path(cfg.lpips_weights)) if cfg.lpips_weights else "",
                        cfg.track_steps_dense)
        per_frame: list[dict[str, Any]] = []
        timing: dict[str, dict[str, Any]] = {}
        renders: dict[tuple[str, str], torch.Tensor] = {}
        try:
            for m in names:
                env = MethodEnv(prior, ckpt, icfg, dict(cfg.budgets.get(m, {})), work / m)
                done: dict[str, Fitted] = {}
                t = timing.setdefault(m, {"wall_s": 0.0, "cpu_s": 0.0, "fits": 0, "steps": 0,
                                          "budget": env.budget, "per_fit": []})
                for task in tasks:
                    if task.fit_key not in done:
                        w0, c0 = time.perf_counter(), time.process_time()
                        done[task.fit_key] = fits[m](env, task.inputs)
                        w, c = time.perf_counter() - w0, time.process_time() - c0
                        f = done[task.fit_key]
                        t["wall_s"] += w
                        t["cpu_s"] += c
                        t["fits"] += 1
                        t["steps"] += f.steps
                        t["per_fit"].append({"inputs": task.fit_key, "steps": f.steps,
                                             "wall_s": round(w, 2), "cpu_s": round(c, 2)})
                    rgb, alpha = render_views(done[task.fit_key].model, task.targets)
                    renders[(m, task.name)] = rgb
                    for row in scorer.score(task, rgb, alpha):
                        per_frame.append({"method": m, "task": task.name,
                                          "protocol": task.protocol, "capture": task.capture,
                                          "driver": task.driver, **row})
        finally:
            scorer.close()
        summary = write_results(
            out, metrics_path or ctx.root / "results" / "metrics" / "benchmark.json",
            st, names, tasks, per_frame, timing, renders,
            {"resolution": cfg.resolution, "threads": cfg.threads,
             "lpips": bool(cfg.lpips_weights), "captures": prep.report,
             "total_seconds": round(time.perf_counter() - t_all, 1)})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BenchmarkRun(metrics_path or ctx.root / "results" / "metrics" / "benchmark.json",
                        out, summary)
