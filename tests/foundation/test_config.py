from __future__ import annotations

from pathlib import Path

import pytest

from headforge.config import (
    ConfigError,
    HeadModelConfig,
    SynthConfig,
    TrainPriorConfig,
    load_section,
    read_params,
)

ROOT = Path(__file__).resolve().parents[2]


def test_every_section_of_the_project_params_loads_for_both_profiles() -> None:
    import headforge.config as c

    params = read_params(ROOT / "params.yaml")
    sections = {
        "paths": c.PathsConfig,
        "head_model": c.HeadModelConfig,
        "render": c.RenderConfig,
        "synth": c.SynthConfig,
        "ingest": c.IngestConfig,
        "track": c.TrackConfig,
        "train_prior": c.TrainPriorConfig,
        "invert": c.InvertConfig,
        "evaluate": c.EvaluateConfig,
        "retention": c.RetentionConfig,
        "regenerate": c.RegenerateConfig,
    }
    for profile in ("tiny", "paper"):
        for name, cls in sections.items():
            load_section(cls, name, params=params, profile=profile)


def test_profile_block_overrides_shared_keys() -> None:
    params = {"profile": "paper", "synth": {"seed": 3, "tiny": {"width": 64}, "paper": {"width": 768}}}
    cfg = load_section(SynthConfig, "synth", params=params)
    assert cfg.width == 768 and cfg.seed == 3
    cfg = load_section(SynthConfig, "synth", params=params, profile="tiny")
    assert cfg.width == 64


def test_unknown_key_names_the_key_and_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"synth: unknown key\(s\) \['widht'\]"):
        load_section(SynthConfig, "synth", params={"synth": {"widht": 3}})


def test_wrong_type_and_bad_literal_are_refused() -> None:
    with pytest.raises(ConfigError, match="synth.width"):
        load_section(SynthConfig, "synth", params={"synth": {"width": "big"}})
    with pytest.raises(ConfigError, match="head_model.source"):
        load_section(HeadModelConfig, "head_model", params={"head_model": {"source": "smplx"}})


def test_int_is_accepted_for_float_fields_but_bool_is_not_an_int() -> None:
    cfg = load_section(TrainPriorConfig, "train_prior", params={"train_prior": {"lr": 1}})
    assert isinstance(cfg.lr, float)
    with pytest.raises(ConfigError):
        load_section(TrainPriorConfig, "train_prior", params={"train_prior": {"steps": True}})


def test_bad_profile_is_refused() -> None:
    with pytest.raises(ConfigError, match="profile"):
        load_section(SynthConfig, "synth", params={"profile": "huge"})


def test_missing_params_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run from the project root"):
        read_params(tmp_path / "params.yaml")
