"""``runner: dask`` against the default runner: synth and track must write identical bytes.

Both stages pick their task runner through the one helper :mod:`flows._runners`; Dask runs on
a local cluster (two single-threaded worker processes). Sizes are tiny: CI has 2 cores.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from headforge.io_utils import sha256_file
from headforge.privacy import Registry, Scope

from .conftest import make_captures

# Files that record wall-clock times (allowed to differ between runs).
_TIMED = ("track_report.json", "track.json", "synth.json", "timings")


def _hashes(folder: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under ``folder`` except time records."""
    return {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(t in p.relative_to(folder).parts or p.name == t
                                   for t in _TIMED)
    }


@pytest.fixture(scope="module")
def harness():
    """One temporary Prefect server for the flows of this module."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield


def _with_runner(params: str, runner: str) -> str:
    return params.replace("RUNNER", runner)


def test_dask_runner_choice() -> None:
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    from flows._runners import task_runner
    from headforge.config import SynthConfig, TrackConfig

    assert isinstance(task_runner(TrackConfig()), ThreadPoolTaskRunner)
    local = task_runner(TrackConfig(runner="dask", max_workers=3))
    assert isinstance(local, DaskTaskRunner) and local.cluster_kwargs["n_workers"] == 3
    remote = task_runner(SynthConfig(runner="dask", dask_address="tcp://10.0.0.5:8786"))
    assert isinstance(remote, DaskTaskRunner) and remote.address == "tcp://10.0.0.5:8786"
    with pytest.raises(ValueError, match="params.yaml"):
        task_runner(TrackConfig(runner="ray"))  # type: ignore[arg-type]


@pytest.mark.slow
def test_track_dask_matches_local(tmp_path: Path, realdata: Path, harness: None) -> None:
    from flows.track import run

    base = make_captures(tmp_path / "local", realdata)
    params = ("profile: tiny\ntrack:\n  runner: RUNNER\n  steps_rigid: 20\n"
              "  steps_landmarks: 30\n  steps_dense: 2\n  dense_resolution: 32\n"
              "  overlays: 1\n  max_workers: 2\n")
    roots = {"local": base, "dask": tmp_path / "dask"}
    shutil.copytree(base, roots["dask"])
    out = {}
    for runner, root in roots.items():
        (root / "params.yaml").write_text(_with_runner(params, runner))
        with Registry.from_config(root) as reg:
            reg.grant("s0001", Scope.CAPTURE, "form:test/1")
        out[runner] = run(root=root)
    assert out["dask"] == out["local"] and out["local"]["tracked"] == ["s0001"]
    a, b = (_hashes(r / "results" / "track") for r in roots.values())
    assert len(a) >= 5 and a == b


@pytest.mark.slow
@pytest.mark.blender
def test_synth_dask_matches_local(tmp_path: Path, harness: None) -> None:
    from flows.synth import run

    params = ("profile: tiny\nsynth:\n  runner: RUNNER\n  identities: 2\n  expressions: 1\n"
              "  cameras: 2\n  width: 32\n  height: 32\n  samples: 2\n"
              "  identities_per_shard: 1\n  texture_size: 64\n  threads_per_worker: 1\n"
              "evaluate:\n  held_out: 1\n")
    out = {}
    for runner in ("local", "dask"):
        root = tmp_path / runner
        root.mkdir()
        (root / "params.yaml").write_text(_with_runner(params, runner))
        out[runner] = run(root=str(root))
    assert out["local"]["images"] == out["dask"]["images"] == 4
    assert out["local"]["failed"] == out["dask"]["failed"] == {}
    a, b = (_hashes(tmp_path / r / "data" / "synth") for r in ("local", "dask"))
    assert len(a) >= 8 and a == b


def test_settle_collects_results_and_failures_in_order() -> None:
    """The flows' one wait loop: a failed subject is named with its message, the rest finish."""
    from types import SimpleNamespace

    from flows._runners import settle

    class Fut:
        def __init__(self, value: str | None, message: str | None = None) -> None:
            self.value, self.waited = value, False
            self.state = SimpleNamespace(is_completed=lambda: value is not None, message=message)

        def wait(self) -> None:
            self.waited = True

        def result(self) -> str | None:
            return self.value

    logged: list[tuple] = []
    log = SimpleNamespace(error=lambda *a: logged.append(a))
    futs = [("a", Fut("A")), ("b", Fut(None, "no frames")), ("c", Fut("C")), ("d", Fut(None))]
    done, failed = settle(futs, log)
    assert done == ["A", "C"] and failed == {"b": "no frames", "d": "failed"}
    assert all(f.waited for _, f in futs)
    assert logged == [("subject %s: %s", "b", "no frames"), ("subject %s: %s", "d", "failed")]
