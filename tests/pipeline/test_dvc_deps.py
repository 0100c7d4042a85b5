"""dvc.yaml cannot go stale: each stage lists every project file its flow imports, and its
params per key (never the runner keys)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from headforge.context import SECTIONS
from headforge.params_loader import PROFILES
from headforge.stagedeps import RUNNER_KEYS, import_closure, suggested_deps, uncovered

ROOT = Path(__file__).resolve().parents[2]
DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())


def _closure(stage: str) -> set[Path]:
    return import_closure(ROOT, ROOT / "flows" / f"{stage}.py")


@pytest.mark.parametrize("stage", sorted(DVC))
def test_stage_deps_cover_its_import_closure(stage: str) -> None:
    deps = [d for d in DVC[stage]["deps"] if isinstance(d, str)]
    missing = uncovered(ROOT, _closure(stage), deps)
    assert not missing, (f"dvc.yaml stage {stage!r} lacks deps for {missing}; its code deps "
                         f"should be {suggested_deps(ROOT, _closure(stage))}")


def test_closure_of_a_rendering_stage_reaches_the_rasterizer() -> None:
    files = {str(p.relative_to(ROOT)) for p in _closure("invert")}
    assert "src/headforge/splat/_torch.py" in files
    assert "src/headforge/morphable/lbs.py" in files
    assert "tasks/invert.py" in files


def test_a_removed_dep_is_reported() -> None:
    deps = [d for d in DVC["evaluate"]["deps"] if d != "src/headforge/splat"]
    assert "src/headforge/splat" in DVC["evaluate"]["deps"]
    missing = uncovered(ROOT, _closure("evaluate"), deps)
    assert missing and all(m.startswith("src/headforge/splat/") for m in missing)


STAGE_PARAMS: dict[str, tuple[list[str], list[str]]] = {
    # stage: (sections it reads whole, single keys it reads)
    "synth": (["synth", "head_model"], ["evaluate.held_out"]),
    "ingest": (["ingest"], []),
    "track": (["track", "head_model"], ["render.backend"]),
    "train_prior": (["train_prior", "head_model"], ["evaluate.held_out", "render.backend"]),
    "adapt_prior": (["adapt_prior", "train_prior", "head_model"], ["render.backend"]),
    "invert": (["invert", "head_model"], ["evaluate.held_out", "train_prior.device",
                                          "render.backend"]),
    "evaluate": (["evaluate", "head_model"], ["train_prior.device", "render.backend"]),
    "report": ([], []),
}


def expected_params(stage: str) -> list[str]:
    """What a stage's ``params`` must list: every key of the sections it reads (profile blocks
    as one key each) except the runner keys, plus its single keys."""
    sections, single = STAGE_PARAMS[stage]
    out: list[str] = []
    for section in sections:
        raw = PARAMS.get(section) or {}
        out += [f"{section}.{k}" for k in raw if k not in RUNNER_KEYS]
    return out + single


def test_every_stage_declares_its_params() -> None:
    assert set(STAGE_PARAMS) == set(DVC)


@pytest.mark.parametrize("stage", sorted(DVC))
def test_params_are_listed_per_key_without_runner_keys(stage: str) -> None:
    listed = [p for p in DVC[stage].get("params", []) if isinstance(p, str)]
    assert sorted(listed) == sorted(expected_params(stage)), (
        f"dvc.yaml stage {stage!r} params: add {sorted(set(expected_params(stage)) - set(listed))}"
        f", remove {sorted(set(listed) - set(expected_params(stage)))}")
    for section in SECTIONS:
        for prof in PROFILES:
            block = (PARAMS.get(section) or {}).get(prof) or {}
            assert not set(block) & RUNNER_KEYS, f"params.yaml {section}.{prof} holds runner keys"


if __name__ == "__main__":  # rewrite dvc.yaml's code deps and params from the rules above
    from headforge.stagedeps import refresh_dvc_yaml

    (ROOT / "dvc.yaml").write_text(refresh_dvc_yaml(ROOT, {s: expected_params(s)
                                                           for s in STAGE_PARAMS}))
