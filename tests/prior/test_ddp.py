"""The DDP path of ``train`` under ``torchrun`` on CPU (gloo, loopback, two ranks).

Each rank runs ``ddp_child.py`` and reports a digest of its replica, its losses and the files
it wrote; a second launch resumes both ranks from the step-1 checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("ddp_child.py")
STEPS = 3


def _torchrun(manifest: Path, out: Path, snapshot_step: int, nan_rank: int = -1,
              expect_rc: int = 0) -> list[dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo",
           "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(CHILD), str(manifest), str(out), str(STEPS), str(snapshot_step), str(nan_rank)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert (res.returncode == 0) == (expect_rc == 0), \
        f"torchrun exit {res.returncode}:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]


@pytest.mark.slow
def test_torchrun_two_ranks_average_gradients_and_resume(heads_manifest: Path,
                                                         tmp_path: Path) -> None:
    from headforge.prior.stage import load_head
    from headforge.prior.train import load_checkpoint, train
    from tests.prior.helpers import HEAD, TINY_TRAIN, training_views

    out = tmp_path / "ddp"
    r0, r1 = _torchrun(heads_manifest, out, snapshot_step=1)
    assert r0["world"] == r1["world"] == 2
    # the ranks drew different batches (seed + rank) ...
    assert len(r0["losses"]) == len(r1["losses"]) == STEPS and r0["losses"] != r1["losses"]
    # ... yet their replicas are identical after every step: the gradients were averaged
    assert r0["digest"] == r1["digest"]
    # only rank 0 wrote files
    assert r0["writes"] == ["last.pt", "prior.pt", "train_metrics.json"] and r1["writes"] == []
    metrics = json.loads((out / "train_metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["steps"] == STEPS
    ck = load_checkpoint(out / "checkpoints" / "last.pt")
    assert len(ck["rng_ranks"]) == 2 and not (ck["rng_ranks"][0] == ck["rng_ranks"][1]).all()

    # `dvc repro` in one process afterwards reuses the finished two-process run as it is
    trained = load_checkpoint(out / "prior.pt")
    cfg = dataclasses.replace(TINY_TRAIN, steps=STEPS, checkpoint_every=1)
    views, _ = training_views(heads_manifest, cfg)
    head, parts = load_head(HEAD)
    again = train(cfg, views, out, head, parts)
    assert again.resumed_from == STEPS and [h["loss"] for h in again.history] == r0["losses"]
    reused = load_checkpoint(out / "prior.pt")
    for k, v in trained["decoder"].items():
        assert torch.equal(v, reused["decoder"][k]), k
    assert torch.equal(trained["latents"], reused["latents"])
    assert json.loads((out / "train_metrics.json").read_text())["world_size"] == 2

    # resume both ranks from the step-1 checkpoint: the same batches per rank follow, so the
    # result is the uninterrupted run's
    resumed = tmp_path / "resumed"
    (resumed / "checkpoints").mkdir(parents=True)
    shutil.copyfile(out / "snapshot.pt", resumed / "checkpoints" / "last.pt")
    q0, q1 = _torchrun(heads_manifest, resumed, snapshot_step=0)
    assert q0["resumed_from"] == q1["resumed_from"] == 1
    assert q0["losses"] == r0["losses"] and q1["losses"][1:] == r1["losses"][1:]
    assert q0["digest"] == q1["digest"] == r0["digest"]


def _finite_rank(rank: int, init: str, out: object) -> None:
    import torch.distributed as dist

    from headforge.prior.train import _finite_everywhere

    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    try:
        loss = torch.tensor(float("nan") if rank == 1 else 0.5)
        first = _finite_everywhere(loss, 2)  # only rank 1 sees NaN
        second = _finite_everywhere(torch.tensor(0.5), 2)  # all finite
        out.put((rank, first, second))  # type: ignore[attr-defined]
    finally:
        dist.destroy_process_group()


def test_a_nan_on_one_rank_stops_every_rank(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-finite loss on one rank is seen by all (one all-reduce), so every rank raises
    instead of the others waiting in the next gradient all-reduce until the group times out."""
    import multiprocessing as mp

    monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo")  # loopback only
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    init = f"file://{tmp_path / 'pg'}"
    procs = [ctx.Process(target=_finite_rank, args=(r, init, out)) for r in range(2)]
    for p in procs:
        p.start()
    results = sorted(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert results == [(0, False, True), (1, False, True)]


@pytest.mark.slow
def test_torchrun_nan_on_one_rank_fails_every_rank_at_once(heads_manifest: Path,
                                                           tmp_path: Path) -> None:
    """Rank 1's loss turns NaN at step 2: both ranks raise the same error at that step (rank 0
    is told through one all-reduce). Before, rank 0 went on into the gradient all-reduce alone:
    torchrun's agent killed it (no error of its own, no clean shutdown), and a launcher without
    such an agent left it waiting until the process group timed out."""
    out = tmp_path / "nan"
    ranks = _torchrun(heads_manifest, out, snapshot_step=0, nan_rank=1, expect_rc=3)
    for r, rec in enumerate(ranks):
        assert "not finite at step 1 on at least one of 2 ranks" in rec["error"], rec
        assert f"rank {r}'s loss" in rec["error"]
    assert "nan" in ranks[1]["error"] and "nan" not in ranks[0]["error"]
    assert not (out / "prior.pt").exists()

