"""The Prefect flows of the synth stage: ``synth`` (renders) and ``regenerate`` (bump, dvc repro,
dvc push) against a throw-away DVC project."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flows.regenerate import bump_version_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def prefect_harness():
    """One temporary Prefect server for the flow tests of this module."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield

PARAMS = """\
profile: tiny
synth:
  seed: 0
  version: 3   # bumped by regenerate
  max_workers: 2
  tiny:
    version: 99
    identities: 1
regenerate:
  push: true
  downstream: false
"""


def test_bump_keeps_comments_and_profile_blocks() -> None:
    text, old, new = bump_version_text(PARAMS)
    assert (old, new) == (3, 4)
    assert "  version: 4   # bumped by regenerate" in text
    assert "    version: 99" in text  # a profile override is not the shared key
    with pytest.raises(ValueError, match="no top-level 'synth:'"):
        bump_version_text("render:\n  version: 1\n")
    with pytest.raises(ValueError, match="synth.version is missing"):
        bump_version_text("synth:\n  seed: 1\n")


def _dvc_project(path: Path, remote: Path) -> dict[str, str]:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    path.mkdir()
    run = lambda *cmd: subprocess.run(cmd, cwd=path, check=True, env=env,  # noqa: E731
                                      capture_output=True)
    run("git", "init", "-q")
    run("git", "config", "user.email", "t@example.invalid")
    run("git", "config", "user.name", "t")
    run(sys.executable, "-m", "dvc", "init", "-q")
    run(sys.executable, "-m", "dvc", "remote", "add", "-d", "local", str(remote))
    (path / "params.yaml").write_text(PARAMS)
    (path / "dvc.yaml").write_text(
        "stages:\n"
        "  synth:\n"
        "    cmd: python -c \"import yaml, pathlib; v=yaml.safe_load(open('params.yaml'))"
        "['synth']['version']; p=pathlib.Path('data/synth'); p.mkdir(parents=True, "
        "exist_ok=True); (p/'version.txt').write_text(str(v))\"\n"
        "    params:\n      - synth\n"
        "    outs:\n      - data/synth\n"
    )
    run("git", "add", "-A")
    run("git", "commit", "-qm", "init")
    return env


def test_regenerate_bumps_reproduces_pushes_and_commits(tmp_path, monkeypatch,
                                                       prefect_harness) -> None:
    from flows.regenerate import regenerate

    project, remote = tmp_path / "proj", tmp_path / "remote"
    env = _dvc_project(project, remote)
    monkeypatch.setenv("PATH", env["PATH"])
    out = regenerate(root=str(project), git_commit=True)
    assert out == {"version": 4, "downstream": False, "pushed": True, "committed": True}
    assert (project / "data" / "synth" / "version.txt").read_text() == "4"
    assert "version: 4   # bumped by regenerate" in (project / "params.yaml").read_text()
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    assert lock["stages"]["synth"]["params"]["params.yaml"]["synth"]["version"] == 4
    assert any(p.is_file() for p in remote.rglob("*")), "outputs pushed to the remote"
    log = subprocess.run(["git", "log", "--oneline"], cwd=project, capture_output=True,
                         text=True).stdout
    assert "regenerate: synthetic dataset v4" in log


@pytest.mark.blender
def test_synth_flow_renders_and_writes_the_manifest(tmp_path, prefect_harness) -> None:
    from flows.synth import synth

    (tmp_path / "params.yaml").write_text(
        "profile: tiny\nsynth:\n  identities: 2\n  expressions: 1\n  cameras: 2\n"
        "  width: 24\n  height: 24\n  samples: 2\n  identities_per_shard: 1\n"
        "  texture_size: 64\n  threads_per_worker: 1\nevaluate:\n  held_out: 1\n")
    out = synth(root=str(tmp_path))
    assert out["images"] == 4 and out["identities"] == 2 and out["failed"] == {}
    assert (tmp_path / "data" / "synth" / "manifest.parquet").is_file()
    assert (tmp_path / "results" / "timings" / "synth.json").is_file()
