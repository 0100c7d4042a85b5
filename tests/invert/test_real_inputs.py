"""Inputs of a real monocular clip: tracked frames only, FPS in expression space, tail held out,
tracking's refined cameras preferred over the manifest's."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from headforge.evaluate.run import real_splits
from headforge.invert.stage import real_subject_inputs
from headforge.prior.data import read_manifest
from tests.prior.helpers import TINY_INVERT


def _clip(heads_manifest: Path, tmp_path: Path) -> tuple[pd.DataFrame, Path]:
    """A 'captured' clip of 8 frames (one camera) with tracking outputs in results/track."""
    syn = read_manifest(heads_manifest)
    front = syn[(syn["camera"] == "cam00") & (syn["subject"] == syn["subject"].iloc[0])]
    track = tmp_path / "track"
    (track / "real_a" / "flame_params").mkdir(parents=True)
    rows = []
    rng = np.random.default_rng(0)
    for f in range(8):
        src = front.iloc[f % len(front)]
        row = {**src.to_dict(), "subject": "real_a", "sequence": "clip", "frame": f"{f:04d}",
               "camera": "phone"}
        row.pop("params_path", None)
        rows.append(row)
        if f == 3:
            continue  # tracking failed on this frame: no parameters
        p = {k: np.zeros((1, d), np.float32) for k, d in
             {"shape": 50, "expr": 20, "rotation": 3, "neck_pose": 3, "jaw_pose": 3,
              "eyes_pose": 6, "translation": 3}.items()}
        p["expr"][0] = rng.normal(0, 1 + 3 * (f == 5), 20)  # frame 5 is an extreme expression
        np.savez(track / "real_a" / "flame_params" / f"clip_{f:04d}.npz", **p)
    refined = np.array(front.iloc[0]["K"], dtype=float).reshape(3, 3)
    refined[0, 0] *= 1.1
    (track / "real_a" / "cameras.json").write_text(json.dumps({"clip/phone": {
        "K": refined.ravel().tolist(), "w2c": list(front.iloc[0]["w2c"])}}))
    return pd.DataFrame(rows), track


def test_inputs_skip_the_tail_and_untracked_frames(heads_manifest: Path, tmp_path: Path) -> None:
    df, track = _clip(heads_manifest, tmp_path)
    cfg = dataclasses.replace(TINY_INVERT, shots=3, test_frames=2)
    chosen = real_subject_inputs(df, "real_a", cfg, track)
    card = chosen.card
    assert card["kind"] == "real" and card["test_frames"] == ["0006", "0007"]
    assert len(card["input_frames"]) == 3 and "0003" not in card["input_frames"]
    # calm_views (the default): frame 5's extreme expression never becomes an input
    assert "0005" not in card["input_frames"] and card["input_rule"] == "calm_views"
    assert not set(card["input_frames"]) & set(card["test_frames"])
    # the refined focal (x1.1) is used, rescaled to the inversion resolution
    k = json.loads((track / "real_a" / "cameras.json").read_text())["clip/phone"]["K"][0]
    native = int(df["width"].iloc[0])
    assert chosen.inputs.K[0, 0, 0].item() == pytest.approx(k * 32 / native, rel=1e-5)
    assert len(real_splits(df.assign(frame=df["frame"].astype(str)), card)["test_frames"]) == 2


def test_the_expression_spread_rule_picks_the_most_distinct_expression(
        heads_manifest: Path, tmp_path: Path) -> None:
    df, track = _clip(heads_manifest, tmp_path)
    cfg = dataclasses.replace(TINY_INVERT, shots=3, test_frames=2, input_rule="expression_spread")
    card = real_subject_inputs(df, "real_a", cfg, track).card
    assert card["input_rule"] == "expression_spread" and "0005" in card["input_frames"]
    assert "0003" not in card["input_frames"] and not set(card["input_frames"]) & {"0006", "0007"}


def test_a_clip_without_tracking_names_the_fix(heads_manifest: Path, tmp_path: Path) -> None:
    df, _ = _clip(heads_manifest, tmp_path)
    with pytest.raises(ValueError, match="run track first"):
        real_subject_inputs(df, "real_a", TINY_INVERT, tmp_path / "no_track")
