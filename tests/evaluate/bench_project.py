"""A throw-away project for benchmark tests: the repo's params (tiny profile) with small
tracking and method budgets, the repo's suites plus a micro suite, and a 2-step prior."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]

MICRO_SUITE = {
    "name": "micro",
    "protocol": {"max_frames": 4, "test_frames": 1, "shots": [1], "portrait_clip_frames": 4},
    "captures": {"astro_clip": {"source": "portrait_clip:astronaut", "terms": "public"}},
    "self_reenactment": ["astro_clip"],
}


def make_project(root: Path, prior_ckpt: Path, budgets: dict[str, Any] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    p["profile"] = "tiny"
    p["benchmark"]["tiny"]["resolution"] = 48
    p["benchmark"]["tiny"]["budgets"] = budgets or {
        "prior": {"steps_latent": 2, "steps_decoder": 2, "steps_per_frame": 0},
        "baseline": {"steps": 3}}
    p["benchmark"]["threads"] = 1
    p["track"]["tiny"].update(steps_rigid=20, steps_landmarks=30, steps_dense=0)
    p["track"]["landmark_cache"] = ""
    (root / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    shutil.copytree(ROOT / "suites", root / "suites", dirs_exist_ok=True)
    (root / "suites" / "micro.yaml").write_text(yaml.safe_dump(MICRO_SUITE, sort_keys=False))
    ck = root / "results" / "train_prior" / "base" / "prior.pt"
    ck.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(prior_ckpt, ck)
    return root


def set_budget(root: Path, method: str, budget: dict[str, Any]) -> None:
    p = yaml.safe_load((root / "params.yaml").read_text())
    p["benchmark"]["tiny"]["budgets"][method] = budget
    (root / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
