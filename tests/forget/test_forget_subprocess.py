"""``headforge forget`` for real: the command runs ``python -m flows.forget`` in a child process
on a small project, found from a sub-folder without ``HEADFORGE_ROOT``, with the project's own
Prefect home (``.prefect``, started on demand as the shared server) and no mocks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.server import _alive, read_state
from headforge.demo import prepare_demo_inbox
from headforge.privacy import Registry, Scope

REPO = Path(__file__).resolve().parents[2]
REGISTRY_URL = "sqlite:///registry/r.sqlite"
CLI = "import sys; from headforge.cli import app; sys.exit(app())"


def _env(case: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (
        "HEADFORGE_ROOT", "HEADFORGE_REGISTRY_URL", "PREFECT_API_URL", "PREFECT_HOME",
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH", "PREFECT_LOCAL_STORAGE_PATH")}
    env.update(PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(REPO)]),
               HOME=str(case / "home"),  # ~/.prefect/storage: a private one
               HEADFORGE_PREFECT_IDLE_S="1", PREFECT_LOGGING_LEVEL="WARNING",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
               DVC_NO_ANALYTICS="1", HEADFORGE_PROGRESS="0")
    return env


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_forget_command_runs_the_flow_module_in_the_project(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / "params.yaml").write_text(
        f"profile: tiny\npaths:\n  registry_url: {REGISTRY_URL}\n")
    (root / ".prefect").mkdir()  # the project's Prefect home, as `make run` leaves it
    monkeypatch.setenv("HEADFORGE_ROOT", str(root))  # only for building it here
    prepare_demo_inbox(root / "inbox")
    monkeypatch.delenv("HEADFORGE_ROOT")
    gone, kept = root / "inbox" / "demo-0001", root / "inbox" / "demo-0002"
    kept_files = sorted(p.read_bytes() for p in kept.rglob("*") if p.is_file())
    assert list(gone.rglob("*.png")) and kept_files

    res = subprocess.run([sys.executable, "-c", CLI, "forget", "demo-0001", "--yes"],
                         cwd=root / "inbox", env=_env(tmp_path), capture_output=True, text=True,
                         timeout=1000)
    try:
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        assert "delete           inbox/demo-0001/photos/portrait.png" in res.stdout
        assert "status: forgotten" in res.stdout, res.stdout[-3000:]
        assert not gone.exists()
        assert sorted(p.read_bytes() for p in kept.rglob("*") if p.is_file()) == kept_files
        with Registry.from_url(REGISTRY_URL, root=root) as reg:
            assert not reg.has_consent("demo-0001", Scope.CAPTURE)
            assert reg.has_consent("demo-0002", Scope.CAPTURE)
            assert reg.verify_audit().ok
            assert [e.event for e in reg.audit_entries()].count("forget.subject") == 1
        # the flow ran against the project's own Prefect home (its API database is there)
        assert (root / ".prefect" / "prefect.db").is_file()
    finally:
        _wait_idle_server_gone(root / ".prefect")


def _wait_idle_server_gone(home: Path, timeout: float = 300.0) -> None:
    """The shared server stops itself once idle (``HEADFORGE_PREFECT_IDLE_S=1``)."""
    state = read_state(home)
    if state is None:
        return
    pids = [int(state["pid"]), int(state["server_pid"])]
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(_alive(p) for p in pids), f"the idle shared server {pids} did not stop"
