"""The project context: params read once from the root it is given, validated, overridable."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from headforge.config import ConfigError
from headforge.context import SECTIONS, Context, Params
from headforge.fanout import serial

ROOT = Path(__file__).resolve().parents[2]


def _project(tmp_path: Path, **changes: dict) -> Path:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in changes.items():
        params[section].update(values)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def test_every_section_has_a_field() -> None:
    assert set(SECTIONS) == {f for f in Params.__dataclass_fields__}


def test_load_reads_the_given_root_not_the_working_directory(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    (tmp_path / "a").mkdir()
    root = _project(tmp_path / "a", invert={"shots": 2})
    monkeypatch.chdir(ROOT)  # the repository's own params.yaml says shots: 3
    monkeypatch.delenv("HEADFORGE_ROOT", raising=False)
    ctx = Context.load(root)
    assert ctx.root == root.resolve() and ctx.params.invert.shots == 2
    assert ctx.data("synth") == root.resolve() / "data" / "synth"
    assert ctx.results("invert") == root.resolve() / "results" / "invert"
    assert ctx.device.type in ("cpu", "cuda")
    assert Context.load().params.invert.shots == 3  # no root: the project around the cwd


def test_profile_blocks_and_overrides(tmp_path: Path) -> None:
    ctx = Context.load(ROOT)
    assert ctx.profile == "tiny"
    assert ctx.params.train_prior.steps == yaml.safe_load(
        (ROOT / "params.yaml").read_text())["train_prior"]["tiny"]["steps"]
    paper = Context.load(ROOT, profile="paper")
    assert paper.params.train_prior.uv_res > ctx.params.train_prior.uv_res
    assert ctx.with_overrides(invert={"shots": 1}).params.invert.shots == 1
    assert ctx.params.invert.shots == 3  # the original is unchanged
    with pytest.raises(ConfigError, match="invert: unknown key"):
        ctx.with_overrides(invert={"shotz": 1})
    with pytest.raises(ConfigError, match="unknown section"):
        ctx.with_overrides(inverter={"shots": 1})


def test_bad_params_name_the_key(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    root = _project(tmp_path / "bad", invert={"shots": "three"})
    with pytest.raises(ConfigError, match=r"invert\.shots"):
        Context.load(root)
    text = (root / "params.yaml").read_text() + "\ninverter: {}\n"
    (root / "params.yaml").write_text(text.replace("shots: three", "shots: 3"))
    with pytest.raises(ConfigError, match="unknown section"):
        Context.load(root)
    with pytest.raises(ConfigError, match="params.yaml not found"):
        Context.load(tmp_path / "nowhere")


def test_serial_each_runs_every_key_and_reports_failures() -> None:
    def work(key: str) -> str:
        if key == "b":
            raise ValueError("no face in b")
        return key.upper()

    done, failed = serial(work)(["a", "b", "c"])
    assert done == ["A", "C"]
    assert failed == {"b": "ValueError: no face in b"}
