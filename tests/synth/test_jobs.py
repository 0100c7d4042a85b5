"""The job format: the host writer (headforge.synth.jobs) and the Blender-side reader
(blender/job.py) must agree, and a broken job must fail with a message naming the problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from blender.job import JobError, read_job
from headforge.config import SynthConfig
from headforge.synth.jobs import write_job
from headforge.synth.plan import PlanContext, PlanError, plan_shard


@pytest.fixture(scope="module")
def ctx(head_model, part_names, tmp_path_factory) -> PlanContext:
    base = tmp_path_factory.mktemp("plan")
    cfg = SynthConfig(identities=3, expressions=2, cameras=4, width=32, height=24,
                      identities_per_shard=2, texture_size=64, threads_per_worker=1)
    return PlanContext.create(cfg, head_model, part_names, base / "out", base / "work", 1)


def test_plan_write_read_roundtrip(ctx, head_model, tmp_path) -> None:
    assert ctx.n_shards == 2 and ctx.shard_indices(1) == [2]
    job = plan_shard(ctx, 0)
    path = write_job(job, tmp_path)
    back = read_job(path)
    assert back.shard == "shard_0000" and (back.width, back.height) == (32, 24)
    assert [i.id for i in back.identities] == ["id_00000", "id_00001"]
    ident = back.identities[1]
    assert ident.vertices.shape == (2, head_model.n_vertices, 3)
    assert ident.expressions[0] == "neutral" and ident.albedo.shape == (64, 64, 3)
    assert ident.params["shape"].shape == (head_model.n_shape,)
    assert ident.params["eyes_pose"].shape == (2, 6)
    assert back.categories["hair"] == 2 and back.part_categories["scalp"] == "face"
    assert len(back.cameras) == 4 and back.cameras[0].K.shape == (3, 3)
    # posed vertices equal the model's output for the stored parameters
    import torch

    p = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in ident.params.items()}
    out = head_model(shape=p["shape"][None].repeat(2, 1), expr=p["expr"], jaw_pose=p["jaw_pose"],
                     eyes_pose=p["eyes_pose"])
    assert np.allclose(out.vertices.numpy(), ident.vertices, atol=1e-5)
    assert plan_shard(ctx, 0).identities[1].albedo.tobytes() == ident.albedo.tobytes()


def _rewrite(path: Path, **changes) -> None:
    with np.load(path.with_suffix(".npz")) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(changes)
    np.savez(path.with_suffix(".npz"), **arrays)


def test_broken_jobs_fail_with_the_array_and_identity_named(ctx, tmp_path) -> None:
    path = write_job(plan_shard(ctx, 0), tmp_path)
    verts = read_job(path).identities[1].vertices.copy()
    verts[1, 10] = np.nan
    _rewrite(path, **{"id_00001/vertices": verts})
    with pytest.raises(JobError, match="identity id_00001: vertices contain NaN"):
        read_job(path)
    _rewrite(path, **{"id_00001/vertices": verts[:1] * 0, "id_00000/albedo": np.zeros((8, 4, 3))})
    with pytest.raises(JobError, match="identity id_00000: albedo texture is \\[8, 4, 3\\]"):
        read_job(path)
    path.with_suffix(".npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(JobError, match="unreadable"):
        read_job(path)
    path.write_text("{not json")
    with pytest.raises(JobError, match="unreadable"):
        read_job(path)


def test_config_errors_name_the_key(head_model, part_names, tmp_path) -> None:
    with pytest.raises(PlanError, match="synth.cameras=30: the rig has 28 cameras"):
        PlanContext.create(SynthConfig(cameras=30), head_model, part_names, tmp_path, tmp_path)
    with pytest.raises(PlanError, match="synth.identities=0 must be at least 1"):
        PlanContext.create(SynthConfig(identities=0), head_model, part_names, tmp_path, tmp_path)
