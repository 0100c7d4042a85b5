from __future__ import annotations

from pathlib import Path

from headforge.evaluate.run import evaluate_bundle, summarise
from headforge.invert.bundle import load_bundle
from headforge.invert.stage import invert_subject, load_prior, synthetic_subject_inputs
from headforge.prior.data import read_manifest
from headforge.prior.stage import load_head
from headforge.prior.train import train
from tests.prior.helpers import HEAD, TINY_INVERT, TINY_TRAIN, held_out, training_views


def test_two_step_smoke_scores_prior_and_baseline(heads_manifest: Path, tmp_path: Path) -> None:
    views, _ = training_views(heads_manifest)
    head, parts = load_head(HEAD)
    ckpt = train(TINY_TRAIN, views, tmp_path / "prior", head, parts).checkpoint
    prior = load_prior(ckpt, HEAD, "cpu")
    df = read_manifest(heads_manifest)
    subj = held_out(heads_manifest)[0]
    chosen = synthetic_subject_inputs(df, subj, TINY_INVERT, heads_manifest.parent)
    out = invert_subject(prior, chosen, TINY_INVERT, tmp_path / subj, subj, ckpt)
    grid = tmp_path / "grid.png"
    res = evaluate_bundle(load_bundle(out, prior), df, heads_manifest.parent, grid, 2)
    # 4 cameras, 2 inputs of expression 0: 2 novel views; expression 1: 4 views
    assert res["novel_view"]["n_images"] == 2 and res["novel_expression"]["n_images"] == 4
    for split in ("novel_view", "novel_expression"):
        for m in ("prior", "baseline"):
            s = res[split][m]
            assert 0 < s["psnr"] < 60 and -1 <= s["ssim"] <= 1 and 0 <= s["l1"] <= 1
    assert grid.is_file()
    mean = summarise({subj: res})
    assert abs(mean["novel_view"]["psnr_gain_db"] - (res["novel_view"]["prior"]["psnr"]
                                                     - res["novel_view"]["baseline"]["psnr"])) < 1e-9
