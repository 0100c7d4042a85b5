"""The three stage flows chained on a tiny project: train_prior -> invert -> evaluate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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


def test_stage_flows_chain_on_a_tiny_project(heads_manifest: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.testing.utilities import prefect_test_harness

    from flows.evaluate import evaluate
    from flows.invert import invert
    from flows.train_prior import train_prior

    root = tmp_path / "proj"
    shutil.copytree(heads_manifest.parent, root / "data" / "synth")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["profile"] = "tiny"
    params["evaluate"]["held_out"] = 1
    params["invert"]["shots"] = 2
    for section, values in TINY.items():
        params[section]["tiny"].update(values)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.setenv("HEADFORGE_ROOT", str(root))
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
