"""A DVC remote on the S3 API: push and pull against a local S3-compatible server (moto)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

DVC = [sys.executable, "-m", "dvc"]


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert res.returncode == 0, f"{cmd} failed:\n{res.stdout}\n{res.stderr}"
    return res.stdout


@pytest.fixture()
def s3_server():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_dvc_push_and_pull_through_s3_api(tmp_path: Path, s3_server: str) -> None:
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        DVC_NO_ANALYTICS="1",
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.invalid",
    )
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket="headforge-test")

    repo = tmp_path / "repo"
    repo.mkdir()
    _run(["git", "init", "-q"], repo, env)
    _run([*DVC, "init", "-q"], repo, env)
    _run([*DVC, "config", "core.analytics", "false"], repo, env)
    _run([*DVC, "remote", "add", "-d", "s3", "s3://headforge-test/store"], repo, env)
    _run([*DVC, "remote", "modify", "s3", "endpointurl", s3_server], repo, env)

    data = repo / "data"
    data.mkdir()
    payload = os.urandom(4096)
    (data / "a.bin").write_bytes(payload)
    (data / "b.txt").write_text("hello remote\n")
    _run([*DVC, "add", "data"], repo, env)
    _run([*DVC, "push"], repo, env)

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="headforge-test").get("Contents", [])]
    assert any(k.startswith("store/files/md5/") for k in keys), keys
    assert len(keys) >= 3  # two files + the directory manifest

    shutil.rmtree(data)
    shutil.rmtree(repo / ".dvc" / "cache")
    _run([*DVC, "pull"], repo, env)
    assert (data / "a.bin").read_bytes() == payload
    assert (data / "b.txt").read_text() == "hello remote\n"
