"""The report's benchmark page: table, per-frame plot and grids from results/benchmark/, and
the index links to it (or says how to make one)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from headforge.report import build_report


def _bench(root: Path) -> None:
    """results/benchmark laid out as bench_results writes it (values are test inputs)."""
    out = root / "results" / "benchmark"
    for sub in ("public", "internal"):
        (out / "grids" / sub).mkdir(parents=True)
        Image.fromarray(np.full((24, 48, 3), 90, np.uint8)).save(out / "grids" / sub / "t.png")
    metrics = {"suite": "s", "methods": {m: {
        "wall_s": 3.0, "cpu_s": 2.5, "fits": 2, "steps": 40, "budget_steps": 20,
        "self_1shot": {"psnr": 20.0 + i, "csim": 0.9, "csim_n": 2},
        "cross": {"csim": 0.85, "aed": 0.2}} for i, m in enumerate(("prior", "baseline"))}}
    (out / "summary.json").write_text(json.dumps({
        "suite": "s", "protocol": {"test_frames": 2}, "resolution": 64, "threads": 1,
        "total_seconds": 9.0, "metrics": metrics,
        "timing": {m: {"budget": {"steps": 20}} for m in ("prior", "baseline")},
        "grids": ["grids/public/t.png", "grids/internal/t.png"]}))
    rows = ["method,task,protocol,capture,driver,frame,psnr,ssim,l1,lpips,csim,akd,aed,apd"]
    for m in ("prior", "baseline"):
        rows += [f"{m},self_1shot/a,self_1shot,a,a,{f},20.5,0.5,0.1,,0.9,3.0,0.1,2.0"
                 for f in ("000001", "000002")]
        rows += [f"{m},cross/b<-a,cross,b,a,000002,,,,,0.8,,0.2,3.0"]
    (out / "per_frame.csv").write_text("\n".join(rows) + "\n")


def test_benchmark_page(tmp_path: Path) -> None:
    page = build_report(tmp_path)
    assert "No benchmark yet" in page.read_text()
    _bench(tmp_path)
    bench_dir = tmp_path / "results" / "benchmark"
    before = sorted(p.relative_to(bench_dir) for p in bench_dir.rglob("*"))
    page = build_report(tmp_path)
    # the benchmark stage's folder is its DVC output: the report only reads it
    assert sorted(p.relative_to(bench_dir) for p in bench_dir.rglob("*")) == before
    assert "benchmark.html" in page.read_text()
    bench = (page.parent / "benchmark.html").read_text()
    assert "<td>prior</td><td>self_1shot</td><td>-</td>" not in bench
    assert "<td>20.000</td>" in bench and "<td>21.000</td>" in bench
    assert "internal terms: do not publish" in bench
    imgs = [s.split("'")[1] for s in bench.split("<img src=")[1:]]
    assert len(imgs) == 3 and all((page.parent / i).is_file() for i in imgs)
    assert not (page.parent / "benchmark_per_frame.png").exists()
