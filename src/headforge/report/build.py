"""Collect what the stages left under ``results/`` and write ``results/report/index.html``.

The page is self-contained (no scripts, no network): images are copied into ``assets/`` beside
it, training curves are drawn to PNG with matplotlib. Every section is optional, so a report can
be built after any subset of stages; a missing section says which stage would fill it.
"""

from __future__ import annotations

import csv
import html
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headforge.io_utils import atomic_path
from headforge.report.benchmark import write_page
from headforge.timing import read_timings

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")


@dataclass
class ReportData:
    """Everything the page shows, gathered from the results tree."""

    metrics: dict[str, Any] = field(default_factory=dict)
    """Parsed ``results/evaluate/metrics.json`` (empty when evaluate has not run)."""
    curves: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    """Training curves: name -> [(step, value)] from dvclive's TSV plots."""
    grids: list[Path] = field(default_factory=list)
    """Image grids written by evaluate (inputs, novel views, driven expressions)."""
    turntables: list[Path] = field(default_factory=list)
    """Turntable animations of the avatars."""
    avatar_renders: dict[str, list[Path]] = field(default_factory=dict)
    """subject -> renders from its avatar bundle."""
    timings: dict[str, float] = field(default_factory=dict)
    """stage -> wall seconds of its last run."""
    extra_images: list[Path] = field(default_factory=list)
    """Other pictures a stage asked to show (e.g. the synth contact sheet)."""


def _read_tsv_curves(folder: Path) -> dict[str, list[tuple[float, float]]]:
    curves: dict[str, list[tuple[float, float]]] = {}
    for tsv in sorted(folder.rglob("*.tsv")):
        with tsv.open(newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        if not rows or "step" not in rows[0]:
            continue
        value_cols = [c for c in rows[0] if c not in ("step", "timestamp")]
        for col in value_cols:
            name = str(tsv.relative_to(folder).with_suffix("")).replace("/", ".")
            name = name if col == tsv.stem else f"{name}.{col}"
            pts = []
            for r in rows:
                try:
                    pts.append((float(r["step"]), float(r[col])))
                except (TypeError, ValueError):
                    continue
            if pts:
                curves[name] = pts
    return curves


def collect(root: Path) -> ReportData:
    """Gather the report's inputs from ``root/results`` and ``root/data``."""
    res = root / "results"
    data = ReportData()
    metrics_file = res / "evaluate" / "metrics.json"
    if metrics_file.is_file():
        data.metrics = json.loads(metrics_file.read_text())
    for plots in sorted((res / "train_prior").glob("**/plots/metrics")):
        data.curves.update(_read_tsv_curves(plots))
    ev = res / "evaluate"
    if ev.is_dir():
        data.grids = sorted(p for p in ev.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    inv = res / "invert"
    if inv.is_dir():
        for subj in sorted(p for p in inv.iterdir() if p.is_dir()):
            data.turntables += sorted(subj.glob("turntable*.gif"))
            renders = sorted((subj / "renders").glob("*.png")) if (subj / "renders").is_dir() else []
            if renders:
                data.avatar_renders[subj.name] = renders[:8]
    data.timings = read_timings(root)
    sheet = root / "data" / "synth" / "contact_sheet.png"
    if sheet.is_file():
        data.extra_images.append(sheet)
    return data


def _flatten(prefix: str, obj: Any, rows: list[tuple[str, str]]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, rows)
    elif isinstance(obj, float):
        rows.append((prefix, f"{obj:.4f}"))
    elif isinstance(obj, list) and all(not isinstance(x, dict | list) for x in obj):
        rows.append((prefix, ", ".join(str(x) for x in obj)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _flatten(f"{prefix}[{i}]", v, rows)
    else:
        rows.append((prefix, str(obj)))


def _plot_curves(curves: dict[str, list[tuple[float, float]]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(curves)
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, (name, pts) in zip(axes.flat, sorted(curves.items()), strict=False):
        xs, ys = zip(*pts, strict=True)
        ax.plot(xs, ys, lw=1.2)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:.25em .6em;font-size:.9em}
th{background:#f3f3f3;text-align:left} .grid img{max-width:100%;margin:.3em 0;image-rendering:pixelated}
.row img{height:160px;margin:.2em;image-rendering:pixelated} .missing{color:#999;font-style:italic}
"""


def _img(rel: str, alt: str) -> str:
    return f'<img src="{html.escape(rel)}" alt="{html.escape(alt)}">'


def build_report(root: Path, out_dir: Path | None = None, title: str = "headforge report") -> Path:
    """Write ``index.html`` and its assets; returns the page's path. Atomic: all or nothing."""
    data = collect(root)
    out_dir = out_dir or root / "results" / "report"
    with atomic_path(out_dir) as tmp:
        assets = tmp / "assets"
        assets.mkdir(parents=True)
        used: set[str] = set()

        def copy(p: Path) -> str:
            rel = p.relative_to(root) if p.is_relative_to(root) else Path(p.name)
            name = "_".join(rel.parts)
            base, i = name, 1
            while name in used:
                name, i = f"{i}_{base}", i + 1
            used.add(name)
            shutil.copy2(p, assets / name)
            return f"assets/{name}"

        parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
                 f"</title><style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"]

        parts.append("<h2>Metrics</h2>")
        if data.metrics:
            rows: list[tuple[str, str]] = []
            _flatten("", data.metrics, rows)
            parts.append("<table><tr><th>metric</th><th>value</th></tr>")
            parts += [f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows]
            parts.append("</table>")
        else:
            parts.append("<p class='missing'>No metrics yet: run the evaluate stage.</p>")

        parts.append("<h2>Training curves</h2>")
        if data.curves:
            _plot_curves(data.curves, assets / "curves.png")
            used.add("curves.png")
            parts.append(f"<div class='grid'>{_img('assets/curves.png', 'training curves')}</div>")
        else:
            parts.append("<p class='missing'>No training curves yet: run train_prior.</p>")

        parts.append("<h2>Image grids</h2>")
        if data.grids:
            parts += [f"<div class='grid'><p>{html.escape(g.name)}</p>{_img(copy(g), g.name)}</div>"
                      for g in data.grids]
        else:
            parts.append("<p class='missing'>No image grids yet: run evaluate.</p>")

        parts.append("<h2>Avatars</h2>")
        if data.turntables or data.avatar_renders:
            for t in data.turntables:
                parts.append(f"<div class='row'><p>{html.escape(t.parent.name)}: turntable</p>"
                             f"{_img(copy(t), t.parent.name)}</div>")
            for subj, imgs in data.avatar_renders.items():
                parts.append(f"<div class='row'><p>{html.escape(subj)}: renders</p>"
                             + "".join(_img(copy(p), p.name) for p in imgs) + "</div>")
        else:
            parts.append("<p class='missing'>No avatars yet: run invert.</p>")

        parts.append("<h2>Benchmark</h2>")
        if write_page(root / "results" / "benchmark", tmp / "benchmark.html", copy):
            parts.append("<p><a href='benchmark.html'>Benchmark page</a>: methods compared on "
                         "real captures (table, per-frame plots, image grids).</p>")
        else:
            parts.append("<p class='missing'>No benchmark yet: run headforge benchmark.</p>")

        if data.extra_images:
            parts.append("<h2>Data</h2>")
            parts += [f"<div class='grid'>{_img(copy(p), p.name)}</div>" for p in data.extra_images]

        parts.append("<h2>Stage timings</h2>")
        if data.timings:
            parts.append("<table><tr><th>stage</th><th>seconds</th></tr>")
            parts += [f"<tr><td>{html.escape(s)}</td><td>{t:.1f}</td></tr>"
                      for s, t in data.timings.items()]
            parts.append("</table>")
        else:
            parts.append("<p class='missing'>No timings recorded yet.</p>")

        parts.append("</body></html>")
        (tmp / "index.html").write_text("\n".join(parts), encoding="utf-8")
        manifest = {"assets": sorted(used)}
        (tmp / "assets.json").write_text(json.dumps(manifest, indent=1))
    return out_dir / "index.html"
