"""An S3 DVC remote (versioned bucket on a local moto server): every version of the subject's
objects and its run-cache entries are deleted there too, the others' objects stay."""

from __future__ import annotations

from pathlib import Path

import pytest
from forget_fixture import dvc, md5_of, subject_files

from headforge.privacy import Registry
from headforge.privacy.forget import forget_subject, load_settings

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")


@pytest.fixture()
def s3_url(monkeypatch: pytest.MonkeyPatch):
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _keys(s3, bucket: str, prefix: str) -> dict[str, int]:
    """key -> number of stored versions."""
    out: dict[str, int] = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for v in page.get("Versions", []):
            out[v["Key"]] = out.get(v["Key"], 0) + 1
    return out


def test_forget_reaches_a_versioned_s3_remote(case: Path, root: Path, reg: Registry,
                                             s3_url: str) -> None:
    s3 = boto3.client("s3", endpoint_url=s3_url)
    s3.create_bucket(Bucket="hf-forget")
    s3.put_bucket_versioning(Bucket="hf-forget", VersioningConfiguration={"Status": "Enabled"})
    dvc(root, "remote", "add", "s3", "s3://hf-forget/store")
    dvc(root, "remote", "modify", "s3", "endpointurl", s3_url)
    dvc(root, "push", "-q", "-r", "s3", "--all-commits", "--run-cache")
    img = root / "inbox/s0001/img_0.png"
    key = f"store/files/md5/{md5_of(img)[:2]}/{md5_of(img)[2:]}"
    s3.put_object(Bucket="hf-forget", Key=key, Body=img.read_bytes())  # an older version
    before = _keys(s3, "hf-forget", "store/")
    assert before[key] == 2
    assert any(k.startswith("store/runs/") for k in before)
    kept = {md5_of(root / rel) for s in ("s0002", "s0003") for rel in subject_files(root, s)}

    settings = load_settings(root, prefect_storage=[case / "prefect"])
    out = forget_subject(settings, reg, "s0001")

    assert out.status == "forgotten", out.verify
    assert any("remote s3" in n for n in out.plan.notes)
    after = _keys(s3, "hf-forget", "store/")
    gone = {f"store/files/md5/{o[:2]}/{o[2:]}" for o in out.plan.subject_oids}
    assert gone & set(before), "the subject's objects were on the remote"
    assert not gone & set(after), "no version of them is left"
    assert key in gone
    for md5 in kept:
        assert f"store/files/md5/{md5[:2]}/{md5[2:]}" in after
    runs_before = {k for k in before if k.startswith("store/runs/")}
    runs_after = {k for k in after if k.startswith("store/runs/")}
    assert runs_after < runs_before
    for key in runs_after:
        body = s3.get_object(Bucket="hf-forget", Key=key)["Body"].read()
        assert not any(o.encode() in body for o in out.plan.subject_oids)
    n_s3 = sum(1 for a in out.plan.actions if a.store == "remote:s3")
    assert n_s3 == len(gone & set(before))
