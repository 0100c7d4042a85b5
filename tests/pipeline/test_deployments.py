"""Serve the deployments against a local Prefect server and trigger runs to completion."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.mark.slow
def test_served_pipeline_deployment_runs_to_completion(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    from flows.server import local_server

    project = tmp_path / "proj"
    _tiny_dvc_project(project)
    with local_server() as url:
        env = {**os.environ, "PREFECT_API_URL": url, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
        env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
        server = subprocess.Popen(
            [sys.executable, "-m", "flows.deploy", "--no-schedules"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            names: set[str] = set()
            t0 = time.monotonic()
            while "pipeline/pipeline" not in names:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() - t0 < 120, "deployments were not registered in 120 s"
                time.sleep(1.0)
                with get_client(sync_client=True) as client:
                    deps = client.read_deployments()
                    flows = {f.id: f.name for f in client.read_flows()}
                names = {f"{flows.get(d.flow_id)}/{d.name}" for d in deps}
            run = run_deployment(
                "pipeline/pipeline", parameters={"root": str(project)}, timeout=240
            )
            assert run.state is not None and run.state.is_completed(), run.state
            assert (project / "results" / "report" / "index.html").read_text() == "ok"
        finally:
            server.terminate()
            server.wait(timeout=30)
