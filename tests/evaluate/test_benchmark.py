"""The benchmark end to end on public-domain faces: the scorer gives the ground truth perfect
scores; the tiny suite runs through ``headforge benchmark`` with both methods; and ``dvc
metrics diff`` shows the change when a method's budget changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from headforge.context import Context
from tests.evaluate.bench_project import make_project, set_budget

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT),
                                         env.get("PYTHONPATH", "")])
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("HEADFORGE_ROOT", None)
    return env


def test_ground_truth_scores_perfectly(tiny_prior: Path, tmp_path: Path) -> None:
    import dataclasses

    from headforge.evaluate.captures import prepare
    from headforge.evaluate.protocol import build_tasks
    from headforge.evaluate.scoring import Scorer
    from headforge.evaluate.suite import load_suite
    from headforge.morphable import load_head_model

    ctx = Context.load(make_project(tmp_path / "proj", tiny_prior))
    suite = load_suite(ctx.root, "micro")
    prep = prepare(ctx, suite, ["astro_clip"], tmp_path / "work", None)
    assert prep.report["astro_clip"]["status_counts"] == {"ok": 4}
    icfg = dataclasses.replace(ctx.params.invert, resolution=96)
    (task,) = build_tasks(suite, prep, icfg)
    # calm_views: the input is the most frontal, calmest of the non-held-out frames (the clip
    # rolls -8..8 degrees, so not the first one)
    assert task.target_frames == ["000003"] and task.inputs.card["input_frames"] == ["000001"]
    scorer = Scorer(ctx.params.track, load_head_model(ctx.params.head_model))
    try:
        gt = task.targets
        (row,) = scorer.score(task, gt.images, gt.masks)
        # a copy that moved: every metric must get worse
        shifted = gt.images.roll(6, dims=2)
        (moved,) = scorer.score(task, shifted, gt.masks.roll(6, dims=2))
    finally:
        scorer.close()
    assert row["psnr"] == 100.0 and row["ssim"] == pytest.approx(1.0, abs=1e-5)
    assert row["l1"] == 0.0 and row["csim"] == pytest.approx(1.0, abs=1e-9)
    assert row["akd"] == pytest.approx(0.0, abs=1e-6)
    assert row["aed"] == pytest.approx(0.0, abs=1e-6) and row["apd"] == pytest.approx(0, abs=1e-3)
    assert moved["psnr"] < 30 and moved["ssim"] < row["ssim"] and moved["l1"] > 0
    assert moved["akd"] > 5.0  # 6 px at 96 -> 16 px at 256, minus detector slack
    assert moved["csim"] < 1.0


def test_tiny_suite_through_the_command(tiny_prior: Path, tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", tiny_prior)
    stale = root / "results/benchmark/grids/internal/self_1shot_d3.png"  # an earlier suite's
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    r = subprocess.run(["headforge", "benchmark", "--suite", "tiny", "--methods",
                        "prior,encoder,baseline"], cwd=root, env=_env(), capture_output=True,
                       text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "| prior | self_1shot |" in r.stdout and "| baseline | cross |" in r.stdout
    m = json.loads((root / "results/metrics/benchmark.json").read_text())
    assert m["methods"]["encoder"]["steps"] == 0  # feed-forward: no optimisation
    assert m["methods"]["prior"]["steps"] > 0 and m["methods"]["baseline"]["steps"] > 0
    for meth in ("prior", "encoder", "baseline"):
        d = m["methods"][meth]
        assert d["fits"] == 3 and d["wall_s"] > 0 and d["cpu_s"] > 0
        assert {"self_1shot", "photo_set", "cross"} <= set(d)
        assert {"psnr", "ssim", "l1", "csim"} <= set(d["self_1shot"])
        assert "psnr" not in d["cross"] and "csim" in d["cross"]
    out = root / "results/benchmark"
    s = json.loads((out / "summary.json").read_text())
    assert sorted(s["grids"]) == sorted(f"grids/public/{n}.png" for n in (
        "self_1shot_astro_clip", "photo_set_astro_clip", "cross_hopper_-astro_clip"))
    assert all((out / g).is_file() for g in s["grids"])
    assert not stale.exists()  # the folder holds this run only
    assert sorted(p.name for p in out.iterdir()) == ["grids", "per_frame.csv", "summary.json",
                                                     "table.md"]
    rows = (out / "per_frame.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 * (2 + 1 + 2)  # header + methods x (self 2 + photo 1 + cross 2)


def test_dvc_metrics_diff_shows_a_budget_change(tiny_prior: Path, tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", tiny_prior,
                        {"baseline": {"steps": 2}})
    (root / "dvc.yaml").write_text(
        "stages:\n  benchmark:\n    cmd: headforge benchmark --suite micro --methods baseline\n"
        "    deps: [suites, results/train_prior/base]\n    params: [benchmark]\n"
        "    outs:\n      - results/benchmark:\n          cache: false\n"
        "    metrics:\n      - results/metrics/benchmark.json:\n          cache: true\n")
    (root / ".gitignore").write_text("/results/\n")
    env = _env()

    def sh(*cmd: str) -> str:
        r = subprocess.run(list(cmd), cwd=root, env=env, capture_output=True, text=True,
                           timeout=900)
        assert r.returncode == 0, f"{cmd}: {r.stdout[-2000:]}\n{r.stderr[-3000:]}"
        return r.stdout

    sh("git", "init", "-q")
    sh("git", "config", "user.email", "t@example.org")
    sh("git", "config", "user.name", "t")
    sh("dvc", "init", "-q")
    sh("dvc", "repro", "-q")
    sh("git", "add", "-A")
    sh("git", "commit", "-qm", "benchmark, baseline 2 steps")
    set_budget(root, "baseline", {"steps": 6})
    sh("dvc", "repro", "-q")
    diff = json.loads(sh("dvc", "metrics", "diff", "--json"))
    d = diff["results/metrics/benchmark.json"]
    assert d["methods.baseline.budget_steps"] == {"old": 2, "new": 6, "diff": 4}
    assert d["methods.baseline.steps"]["diff"] == 4
    psnr = d["methods.baseline.self_1shot.psnr"]
    assert psnr["old"] != psnr["new"]
