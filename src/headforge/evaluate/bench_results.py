"""Write the benchmark's results: DVC metrics, a summary, per-frame scores, a table, grids.

* ``results/metrics/benchmark.json`` (DVC metrics: ``dvc metrics show/diff``): per method its
  wall / CPU seconds, steps and, per protocol, the mean of each metric (mean over the
  protocol's tasks of each task's mean over its frames; frames where a detector found no face
  are left out of that metric and counted in ``<metric>_n``);
* ``results/benchmark/summary.json`` the same plus the suite, protocol, per-task means,
  per-fit timings and the captures' tracking reports;
* ``results/benchmark/per_frame.csv`` one row per method, task and scored frame;
* ``results/benchmark/table.md`` the table;
* ``results/benchmark/grids/{public,internal}/<task>.png``: ground truth (top) and each
  method's render per scored frame; a cross-reenactment grid starts with the source's input.
  Grids of captures whose terms are ``internal`` go to ``internal/`` (the report shows them
  locally; they are never copied into docs/).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from headforge.evaluate.protocol import Task
from headforge.evaluate.run import save_grid
from headforge.evaluate.suite import Suite
from headforge.invert.bundle import to_uint8
from headforge.io_utils import atomic_path, write_text_atomic
from headforge.metrics import NAMES as METRICS

LOWER_IS_BETTER = frozenset({"l1", "lpips", "akd", "aed", "apd"})


def _mean(vals: Sequence[float | None]) -> float | None:
    v = [x for x in vals if x is not None and math.isfinite(x)]
    return float(np.mean(v)) if v else None


def aggregate(per_frame: Sequence[dict[str, Any]], methods: Sequence[str]
              ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(per method -> protocol -> metric means, per method -> task -> metric means)."""
    per_task: dict[str, dict[str, dict[str, Any]]] = {}
    protocol_of: dict[str, str] = {}
    for m in methods:
        rows = [r for r in per_frame if r["method"] == m]
        for task in dict.fromkeys(r["task"] for r in rows):
            tr = [r for r in rows if r["task"] == task]
            protocol_of[task] = tr[0]["protocol"]
            per_task.setdefault(m, {})[task] = {
                k: _mean([r.get(k) for r in tr]) for k in METRICS if any(k in r for r in tr)}
    out: dict[str, Any] = {}
    for m, tasks in per_task.items():
        for proto in dict.fromkeys(protocol_of[t] for t in tasks):
            ts = [v for t, v in tasks.items() if protocol_of[t] == proto]
            d: dict[str, Any] = {}
            for k in METRICS:
                vals = [t[k] for t in ts if k in t]
                if vals:
                    d[k] = _mean(vals)
                    d[f"{k}_n"] = sum(1 for r in per_frame if r["method"] == m
                                      and r["protocol"] == proto and r.get(k) is not None)
            out.setdefault(m, {})[proto] = d
    return out, per_task


def _fmt(v: Any) -> str:
    return "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))


def table_markdown(metrics: dict[str, Any]) -> str:
    """One table: a row per method and protocol, a column per metric, plus time."""
    head = "| method | protocol | " + " | ".join(METRICS) + " | fits | steps | wall s | CPU s |"
    lines = [head, "|" + "---|" * (len(METRICS) + 6)]
    for m, d in metrics["methods"].items():
        for proto, vals in d.items():
            if not isinstance(vals, dict) or proto == "budget":
                continue
            cells = [_fmt(vals.get(k)) for k in METRICS]
            lines.append(f"| {m} | {proto} | " + " | ".join(cells) +
                         f" | {d['fits']} | {d['steps']} | {d['wall_s']:.1f} | "
                         f"{d['cpu_s']:.1f} |")
    return "\n".join(lines) + "\n"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def write_grids(out: Path, suite: Suite, methods: Sequence[str], tasks: Sequence[Task],
                renders: dict[tuple[str, str], torch.Tensor]) -> list[str]:
    """One grid per task; returns the paths written (relative to ``out``)."""
    written = []
    for task in tasks:
        public = suite.captures[task.capture].public and suite.captures[task.driver].public
        cols: list[list[np.ndarray]] = []
        if task.protocol == "cross" and task.identity_image is not None:
            cols.append([task.identity_image])
        for i in range(len(task.target_frames)):
            col = [to_uint8(task.targets.images[i])]
            col += [to_uint8(renders[(m, task.name)][i]) for m in methods]
            cols.append(col)
        rel = Path("grids") / ("public" if public else "internal") / f"{_safe(task.name)}.png"
        save_grid(cols, out / rel)
        written.append(rel.as_posix())
    return written


def write_results(out: Path, metrics_path: Path, suite: Suite, methods: Sequence[str],
                  tasks: Sequence[Task], per_frame: list[dict[str, Any]],
                  timing: dict[str, dict[str, Any]], renders: dict[tuple[str, str], torch.Tensor],
                  info: dict[str, Any]) -> dict[str, Any]:
    """Write every output (see the module docstring); returns the summary."""
    means, per_task = aggregate(per_frame, methods)
    metrics: dict[str, Any] = {"suite": suite.name, "methods": {}}
    for m in methods:
        t = timing[m]
        metrics["methods"][m] = {"wall_s": round(t["wall_s"], 2), "cpu_s": round(t["cpu_s"], 2),
                                 "fits": t["fits"], "steps": t["steps"],
                                 **{f"budget_{k}": v for k, v in t["budget"].items()},
                                 **means.get(m, {})}
    # the whole folder is written beside ``out`` and renamed onto it: a run leaves no grid or
    # table of an earlier suite behind, and an interrupted run leaves the last one intact
    with atomic_path(out) as new:
        new.mkdir(parents=True)
        grids = write_grids(new, suite, methods, tasks, renders)
        summary = {
            "suite": suite.name, "protocol": dataclasses.asdict(suite.protocol),
            "captures": {n: dataclasses.asdict(c) for n, c in suite.captures.items()},
            "tasks": [{"name": t.name, "protocol": t.protocol, "capture": t.capture,
                       "driver": t.driver, "input_frames": t.inputs.card["input_frames"],
                       "scored_frames": t.target_frames} for t in tasks],
            "metrics": metrics, "per_task": per_task,
            "timing": {m: {k: v for k, v in t.items()} for m, t in timing.items()},
            "grids": grids, **info,
        }
        write_text_atomic(new / "summary.json", json.dumps(summary, indent=1, default=str))
        cols = ["method", "task", "protocol", "capture", "driver", "frame", *METRICS]
        tmp = new / "per_frame.csv"
        with tmp.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
            w.writeheader()
            for r in per_frame:
                w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})
        write_text_atomic(new / "table.md", table_markdown(metrics))
    write_text_atomic(metrics_path, json.dumps(metrics, indent=1))
    return summary
