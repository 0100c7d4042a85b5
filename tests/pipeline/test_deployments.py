"""Serve the deployments against a local Prefect server and trigger runs to completion.

One server and one ``python -m flows.deploy`` process serve the whole module (each server
start costs 10-15 s); the forget project is built while the server starts. Every wait polls
the state it waits for (deployments registered, a run paused or final), fails at once when that
state can no longer come (the serve process died, the run ended early), and otherwise gives a
busy machine :data:`WAIT_S` before failing with what it was waiting for and the last state seen.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = {"pipeline/pipeline", "forget/forget", "regenerate/regenerate",
               "retention/retention"}
WAIT_S = 600.0
"""How long a wait on a state may take (generous: a loaded machine, not a stopwatch)."""


def _tiny_dvc_project(path: Path) -> None:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    path.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=path, check=True, env=env)
    (path / "params.yaml").write_text("profile: tiny\n")
    (path / "dvc.yaml").write_text(
        "stages:\n"
        "  report:\n"
        "    cmd: python -c \"import pathlib; p=pathlib.Path('results/report'); "
        "p.mkdir(parents=True, exist_ok=True); (p/'index.html').write_text('ok')\"\n"
        "    outs:\n      - results/report\n"
    )


def _forget_case(case: Path) -> Path:
    """Two subjects (git + DVC history, a local remote, a registry, Prefect results)."""
    from tests.forget.forget_fixture import build_project

    case.mkdir()
    before = os.environ.get("DVC_SITE_CACHE_DIR")
    os.environ["DVC_SITE_CACHE_DIR"] = str(case / "site")  # build_project's git_env() reads it
    try:
        return build_project(case, subjects=["s0001", "s0002"], frames=1)
    finally:
        if before is None:
            os.environ.pop("DVC_SITE_CACHE_DIR", None)
        else:
            os.environ["DVC_SITE_CACHE_DIR"] = before


@dataclass
class Served:
    url: str
    forget_root: Path
    case: Path
    log: Path


def _wait(what: str, ok: Callable[[], Any], served: Served, timeout: float = WAIT_S,
          every: float = 0.5, seen: Callable[[], object] | None = None) -> Any:
    """Poll ``ok`` until it returns something true; ``seen`` describes the last state."""
    t0 = time.monotonic()
    while True:
        got = ok()
        if got:
            return got
        if time.monotonic() - t0 > timeout:
            tail = served.log.read_text()[-4000:] if served.log.is_file() else ""
            last = f"; last state: {seen()}" if seen is not None else ""
            raise AssertionError(f"waited {timeout:.0f} s for {what}{last}; serve log:\n{tail}")
        time.sleep(every)


def _flow_run(run_id: Any) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One local server, every deployment served by ``python -m flows.deploy``."""
    from prefect.client.orchestration import get_client

    from flows.server import local_server

    base = tmp_path_factory.mktemp("served")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        building = pool.submit(_forget_case, base / "case")
        with local_server() as url:
            forget_root = building.result()
            case = forget_root.parent
            env = {**os.environ, "PREFECT_API_URL": url,
                   "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
                   # private Prefect home/results: forget scans and cleans them
                   "HOME": str(case / "home"),
                   "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(case / "prefect"),
                   "DVC_SITE_CACHE_DIR": str(case / "site"),
                   "HEADFORGE_PROGRESS": "0"}
            env.pop("HEADFORGE_ROOT", None)
            env.pop("HEADFORGE_REGISTRY_URL", None)
            env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
            log = base / "serve.log"
            with open(log, "w") as fh:
                proc = subprocess.Popen([sys.executable, "-m", "flows.deploy", "--no-schedules"],
                                        cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
            s = Served(url, forget_root, case, log)
            try:
                def registered() -> bool:
                    assert proc.poll() is None, log.read_text()[-4000:]
                    with get_client(sync_client=True) as client:
                        flows = {f.id: f.name for f in client.read_flows()}
                        names = {f"{flows.get(d.flow_id)}/{d.name}"
                                 for d in client.read_deployments()}
                    return DEPLOYMENTS <= names

                _wait(f"the deployments {sorted(DEPLOYMENTS)} to be registered", registered, s,
                      every=1.0)
                yield s
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


@pytest.mark.slow
@pytest.mark.timeout(3 * WAIT_S)
def test_served_pipeline_deployment_runs_to_completion(served: Served, tmp_path: Path) -> None:
    from prefect.deployments import run_deployment

    project = tmp_path / "proj"
    _tiny_dvc_project(project)
    run = run_deployment("pipeline/pipeline", parameters={"root": str(project)}, timeout=0)

    def final() -> Any:
        fr = _flow_run(run.id)
        return fr if fr.state is not None and fr.state.is_final() else None

    done = _wait("the pipeline run to reach a final state", final, served,
                 seen=lambda: _flow_run(run.id).state)
    assert done.state.is_completed(), done.state
    assert (project / "results" / "report" / "index.html").read_text() == "ok"


@pytest.mark.slow
@pytest.mark.timeout(4 * WAIT_S)
def test_served_forget_pauses_for_approval_and_forgets(served: Served) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.flow_runs import resume_flow_run
    from prefect.input.run_input import keyset_from_paused_state

    from headforge.privacy import Registry, Scope
    from tests.forget.forget_fixture import REGISTRY_URL, subject_files

    root = served.forget_root
    kept = subject_files(root, "s0002")
    assert subject_files(root, "s0001") and kept
    run = run_deployment("forget/forget", parameters={"subject": "s0001", "root": str(root)},
                         timeout=0)

    def read(key: str | None = None) -> Any:
        if key is None:
            return _flow_run(run.id)
        with get_client(sync_client=True) as client:
            try:
                return client.read_flow_run_input(run.id, key)
            except Exception:  # not written yet
                return None

    def paused() -> Any:
        fr = read()
        assert fr.state is None or not fr.state.is_final(), fr.state
        return fr if fr.state is not None and fr.state.is_paused() else None

    fr = _wait("the forget run to pause for approval", paused, served,
               seen=lambda: read().state)
    keys = keyset_from_paused_state(fr.state)
    # the form is saved just after the pause: wait for its schema before answering
    _wait("the paused run's approval form (its schema input)", lambda: read(keys["schema"]),
          served)
    description = json.loads(read(keys["description"]))
    assert "Approve the deletion?" in description and "workspace" in description
    assert "s0001" not in description  # the form shows counts, never the id or paths
    # nothing is deleted while the run waits (still paused a moment later)
    time.sleep(1.0)
    assert read().state.is_paused(), read().state
    assert subject_files(root, "s0001") and (root / "inbox/s0001").is_dir()

    resume_flow_run(run.id, run_input={"approve": True})
    done = _wait("the approved forget run to reach a final state",
                 lambda: (fr := read()).state.is_final() and fr, served,
                 seen=lambda: read().state)
    assert done.state.is_completed(), done.state
    assert subject_files(root, "s0001") == {} and not (root / "inbox/s0001").exists()
    assert subject_files(root, "s0002") == kept
    prefect = served.case / "prefect"
    assert not (prefect / hashlib.sha256(b"s0001").hexdigest()).exists()
    assert (prefect / hashlib.sha256(b"s0002").hexdigest()).is_file()
    with Registry.from_url(REGISTRY_URL, root=root) as reg:
        assert reg.verify_audit().ok
        events = [e.event for e in reg.audit_entries()]
        assert events.count("forget.subject") == 1
        assert not reg.has_consent("s0001", Scope.CAPTURE)
        assert reg.has_consent("s0002", Scope.CAPTURE)
