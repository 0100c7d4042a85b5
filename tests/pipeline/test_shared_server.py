"""The project's shared Prefect server (flows/server.py): flow processes without
``PREFECT_API_URL`` start it once, share it, and it stops when idle; a start that takes too
long or dies is one clear error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.server import CLIENTS, STATE, _alive, _start_shared, read_state

REPO = Path(__file__).resolve().parents[2]

CLIENT = """
import sys
from pathlib import Path
from prefect import flow, task
from flows.server import shared_server

@task
def square(x: int) -> int:
    return x * x

@flow
def total(n: int) -> int:
    return sum(f.result() for f in square.map(range(n)))

with shared_server(Path(sys.argv[1])) as url:
    print(url, total(4), flush=True)
"""


def _env(home: Path, idle_s: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_HOME=str(home), HEADFORGE_PREFECT_IDLE_S=idle_s,
               PREFECT_LOGGING_LEVEL="WARNING",
               PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(REPO)]))
    return env


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_flow_processes_share_one_server_that_stops_when_idle(tmp_path: Path) -> None:
    home = tmp_path / ".prefect"
    home.mkdir()
    (home / STATE).write_text(json.dumps({"pid": 2**22 + 7, "server_pid": 1,
                                          "url": "http://127.0.0.1:9/api"}))  # stale
    env = _env(home, "3")
    procs = [subprocess.Popen([sys.executable, "-c", CLIENT, str(tmp_path)], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=1000) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    urls = {out.split()[0] for out, _ in outs}
    assert len(urls) == 1, urls  # one server for both
    assert all(out.split()[1] == "14" for out, _ in outs)  # 0 + 1 + 4 + 9
    assert all("ephemeral" not in err and "temporary server" not in err for _, err in outs)
    state = read_state(home)
    assert state is not None and state["url"] in urls
    sup, server = int(state["pid"]), int(state["server_pid"])
    deadline = time.monotonic() + 120
    while (_alive(sup) or _alive(server)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _alive(sup) and not _alive(server), "the idle server was not stopped"
    assert read_state(home) is None
    assert list((home / CLIENTS).iterdir()) == []


def test_a_slow_start_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO / "src"), str(REPO)]))
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match="still starting after .* HEADFORGE_PREFECT_START"):
        _start_shared(tmp_path, timeout=0.5, idle_s=5)
    assert time.monotonic() - t0 < 60
    state = read_state(tmp_path)
    if state is not None:  # the supervisor was told to stop, and takes its server along
        deadline = time.monotonic() + 60
        while _alive(int(state["pid"])) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(int(state["pid"]))
