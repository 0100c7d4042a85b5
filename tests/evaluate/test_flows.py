"""The three stage flows chained on a tiny project: train_prior -> invert -> evaluate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

TINY = {
    "train_prior": {"steps": 2, "batch": 2, "resolution": 32, "latent_dim": 8, "uv_res": 16,
                    "channels": 8, "face_density": 0.5, "hair_density": 1.0,
                    "checkpoint_every": 1},
    "invert": {"steps_latent": 2, "steps_decoder": 2, "steps_per_frame": 0, "resolution": 32,
               "reference_views": 2, "turntable_frames": 2, "early_warmup": 100},
}


def _tiny_project(heads_manifest: Path, root: Path, held_out: int = 1,
                  **invert: object) -> Path:
    """A project folder with the fixture heads as its synth output and tiny budgets."""
    shutil.copytree(heads_manifest.parent, root / "data" / "synth")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["profile"] = "tiny"
    params["evaluate"]["held_out"] = held_out
    params["invert"]["shots"] = 2
    params["invert"].update(invert)
    for section, values in TINY.items():
        params[section]["tiny"].update(values)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root


def test_stage_flows_chain_on_a_tiny_project(heads_manifest: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.testing.utilities import prefect_test_harness

    from flows.evaluate import evaluate
    from flows.invert import invert
    from flows.train_prior import train_prior

    root = _tiny_project(heads_manifest, tmp_path / "proj")
    # the flows read the project they are given, not the working directory or HEADFORGE_ROOT
    monkeypatch.delenv("HEADFORGE_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    with prefect_test_harness(server_startup_timeout=120):
        out = train_prior(root)
        bundles = invert(root)
        metrics_path = evaluate(root)
    assert out["steps"] == 2
    assert (root / "results" / "train_prior" / "base" / "prior.pt").is_file()
    tsv = list((root / "results" / "train_prior" / "base" / "dvclive").rglob("base/loss.tsv"))
    assert tsv and len(tsv[0].read_text().strip().splitlines()) == 3  # header + 2 steps
    assert json.loads((root / "results" / "metrics" / "train_prior.json").read_text())["steps"] == 2
    assert [Path(b).name for b in bundles] == ["synth_003"]
    assert json.loads((root / "results" / "invert" / "index.json").read_text()) == ["synth_003"]
    metrics = json.loads(Path(metrics_path).read_text())
    assert set(metrics["per_subject"]) == {"synth_003"}
    assert "psnr_gain_db" in metrics["mean"]["novel_view"]
    assert (root / "results" / "evaluate" / "grids" / "synth_003.png").is_file()
    for stage in ("train_prior", "invert", "evaluate"):
        assert (root / "results" / "timings" / f"{stage}.json").is_file()


@pytest.mark.slow
def test_invert_on_dask_matches_the_default_runner(heads_manifest: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """``invert.runner: dask`` inverts each subject in its own worker process, with the same
    inputs, budgets and starting losses as the default thread runner (bytes may differ: the
    baseline runs for a wall-time budget and the worker has other torch threads)."""
    from prefect.testing.utilities import prefect_test_harness

    import flows._runners as runners
    from flows.invert import run
    from flows.train_prior import train_prior

    picked: list[str] = []
    real_runner = runners.task_runner
    monkeypatch.setattr(runners, "task_runner",
                        lambda cfg: picked.append(type(real_runner(cfg)).__name__)
                        or real_runner(cfg))
    local = _tiny_project(heads_manifest, tmp_path / "local", held_out=2)
    dask = tmp_path / "dask"
    cards = {}
    with prefect_test_harness(server_startup_timeout=120):
        monkeypatch.setenv("HEADFORGE_ROOT", str(local))
        train_prior(local)
        man = local / "data" / "synth" / "manifest.parquet"
        df = pd.read_parquet(man)  # a second subject to invert (the prior saw it: no matter)
        df.loc[df["subject"] == "synth_002", "split"] = "test"
        df.to_parquet(man)
        shutil.copytree(local, dask)
        cfg = yaml.safe_load((dask / "params.yaml").read_text())
        cfg["invert"].update(runner="dask", max_workers=2)
        (dask / "params.yaml").write_text(yaml.safe_dump(cfg))
        for root in (local, dask):
            monkeypatch.setenv("HEADFORGE_ROOT", str(root))
            names = [Path(b).name for b in run(root)]
            assert names == ["synth_002", "synth_003"]
            assert json.loads((root / "results" / "invert" / "index.json").read_text()) == names
            cards[root.name] = {n: json.loads((root / "results" / "invert" / n / "card.json")
                                              .read_text()) for n in names}
    assert picked == ["ThreadPoolTaskRunner", "DaskTaskRunner"]
    for name, a in cards["local"].items():
        b = cards["dask"][name]
        assert a["inputs"] == b["inputs"] and a["n_gaussians"] == b["n_gaussians"]
        for sa, sb in zip(a["stages"], b["stages"], strict=True):
            assert (sa["name"], sa["steps"], sa["status"]) == (sb["name"], sb["steps"], sb["status"])
            assert sa["first_loss"] == pytest.approx(sb["first_loss"], rel=1e-4)
