"""The report's benchmark page: the table, per-frame plots and the image grids.

Reads what ``headforge benchmark`` wrote under ``results/benchmark/`` (summary.json,
per_frame.csv, grids/). Grids of captures whose terms are ``internal`` are shown (the report
stays under ``results/``, which git ignores) with a note that they must not be published.
"""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

PLOTTED = ("psnr", "ssim", "csim", "akd", "aed", "apd")


def _cell(v: Any) -> str:
    return "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else html.escape(str(v)))


def table_html(metrics: dict[str, Any]) -> str:
    """Methods x protocols x metrics, plus each method's fits, steps and time."""
    from headforge.metrics import NAMES as METRICS

    head = "".join(f"<th>{m}</th>" for m in METRICS)
    rows = [f"<table><tr><th>method</th><th>protocol</th>{head}<th>fits</th><th>steps</th>"
            "<th>wall s</th><th>CPU s</th></tr>"]
    for meth, d in metrics.get("methods", {}).items():
        for proto, vals in d.items():
            if not isinstance(vals, dict):
                continue
            cells = "".join(f"<td>{_cell(vals.get(k))}</td>" for k in METRICS)
            rows.append(f"<tr><td>{html.escape(meth)}</td><td>{html.escape(proto)}</td>{cells}"
                        f"<td>{d['fits']}</td><td>{d['steps']}</td><td>{d['wall_s']:.1f}</td>"
                        f"<td>{d['cpu_s']:.1f}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def plot_per_frame(csv_path: Path, out: Path) -> bool:
    """One panel per protocol and metric: each method's score per scored frame."""
    with csv_path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    protocols = list(dict.fromkeys(r["protocol"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, axes = plt.subplots(len(protocols), len(PLOTTED), squeeze=False,
                             figsize=(2.6 * len(PLOTTED), 2.2 * len(protocols)))
    for i, proto in enumerate(protocols):
        for j, k in enumerate(PLOTTED):
            ax = axes[i][j]
            for m in methods:
                sel = [r for r in rows if r["protocol"] == proto and r["method"] == m]
                ys = [float(r[k]) if r.get(k) else float("nan") for r in sel]
                ax.plot(range(len(ys)), ys, "o-", ms=3, lw=1, label=m)
            ax.set_title(f"{proto}: {k}", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.supxlabel("scored frame (tasks in suite order)", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return True


def write_page(bench_dir: Path, page: Path, copy: Callable[[Path], str]) -> bool:
    """Write ``page`` (benchmark.html) from ``bench_dir``; False when there is no benchmark.
    ``copy`` puts a file into the report's assets and returns its relative address."""
    summary_path = bench_dir / "summary.json"
    if not summary_path.is_file():
        return False
    s = json.loads(summary_path.read_text())
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>benchmark "
             f"{html.escape(s['suite'])}</title></head><body style='font-family:sans-serif'>",
             f"<h1>Benchmark: suite {html.escape(s['suite'])}</h1>",
             f"<p>Resolution {s.get('resolution')} px, {s.get('threads')} torch threads, "
             f"total {s.get('total_seconds')} s. Protocol: "
             f"{html.escape(json.dumps(s['protocol']))}. Budgets: "
             f"{html.escape(json.dumps({m: t['budget'] for m, t in s['timing'].items()}))}."
             "</p>", table_html(s["metrics"])]
    # the plot is drawn beside the page (the report's own folder): the benchmark stage's
    # folder belongs to that stage, and writing into it would leave DVC's record stale
    plot = page.parent / "benchmark_per_frame.png"
    if (bench_dir / "per_frame.csv").is_file() and plot_per_frame(bench_dir / "per_frame.csv",
                                                                 plot):
        parts.append(f"<h2>Per frame</h2><img src='{html.escape(copy(plot))}'>")
        plot.unlink()
    parts.append("<h2>Image grids</h2><p>Top row: ground truth; then one row per method in "
                 f"the order {html.escape(', '.join(s['metrics']['methods']))}; a "
                 "cross-reenactment grid starts with the source's input.</p>")
    for g in s.get("grids", []):
        p = bench_dir / g
        if not p.is_file():
            continue
        note = " (internal terms: do not publish)" if "/internal/" in g else ""
        parts.append(f"<p>{html.escape(p.stem + note)}</p><img src='{html.escape(copy(p))}' "
                     "style='image-rendering:pixelated;max-width:100%'>")
    parts.append("</body></html>")
    page.write_text("\n".join(parts), encoding="utf-8")
    return True
