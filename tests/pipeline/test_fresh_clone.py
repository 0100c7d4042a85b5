"""Plain ``dvc repro`` and ``dvc exp run -S ...`` from a fresh clone, beside two CPU hogs,
without ``make run`` and without ``PREFECT_API_URL``: every stage's flow uses the project's
shared Prefect server (flows/server.py), started once on demand, instead of a temporary
server per stage that gives up after 20 s on a busy machine."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def _run(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> float:
    t0 = time.monotonic()
    with log.open("a") as f:
        f.write(f"\n$ {' '.join(cmd)}\n")
        f.flush()
        res = subprocess.run(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT,
                             timeout=3000)
    if res.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        pytest.fail(f"{' '.join(cmd)} exited with {res.returncode}:\n{tail}")
    return time.monotonic() - t0


@pytest.mark.long
@pytest.mark.timeout(3600)
def test_dvc_repro_and_exp_run_from_a_fresh_clone(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git not found")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    venv_bin = str(Path(sys.executable).parent)
    drop = ("PREFECT_API_URL", "PREFECT_HOME", "HEADFORGE_ROOT", "HEADFORGE_REGISTRY_URL",
            "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        PATH=os.pathsep.join([venv_bin, env.get("PATH", "")]),
        PYTHONPATH=os.pathsep.join([str(clone / "src"), str(clone)]),  # the clone's code
        PREFECT_LOGGING_LEVEL="WARNING", DVC_NO_ANALYTICS="1", DO_NOT_TRACK="1",
        GIT_AUTHOR_NAME="test", GIT_AUTHOR_EMAIL="test@example.invalid",
        GIT_COMMITTER_NAME="test", GIT_COMMITTER_EMAIL="test@example.invalid",
    )
    log = tmp_path / "run.log"
    hog = "while True: pass"
    hogs = [subprocess.Popen([sys.executable, "-c", hog]) for _ in range(2)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        _run([os.path.join(venv_bin, "headforge"), "demo"], clone, env, log)
        t_repro = _run(["dvc", "repro"], clone, env, log)
        t_exp = _run(["dvc", "exp", "run", "-S", "invert.steps_per_frame=11"], clone, env, log)
        t_again = _run(["dvc", "repro"], clone, env, log)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the hogs are not reaped yet
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    text = log.read_text(errors="replace")
    assert "ephemeral Prefect API" not in text and "Starting temporary server" not in text
    params = yaml.safe_load((clone / "params.yaml").read_text())
    assert params["invert"]["steps_per_frame"] == 11
    lock = yaml.safe_load((clone / "dvc.lock").read_text())
    # dvc.yaml lists params per key, so the lock records them flat
    assert lock["stages"]["invert"]["params"]["params.yaml"]["invert.steps_per_frame"] == 11
    assert (clone / "results" / "evaluate" / "metrics.json").is_file()
    assert (clone / ".prefect" / "prefect.db").is_file()  # the shared server's database
    assert "Stage 'invert' didn't change" in text.split("$ dvc repro")[-1] or \
        "Data and pipelines are up to date" in text.split("$ dvc repro")[-1]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"dvc_repro_s": round(t_repro, 1), "dvc_exp_run_s": round(t_exp, 1),
                      "dvc_repro_again_s": round(t_again, 1), "cpu_s_children": round(cpu, 1),
                      "hogs": 2}))
