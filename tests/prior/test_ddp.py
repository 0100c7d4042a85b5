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


def _torchrun(manifest: Path, out: Path, snapshot_step: int) -> list[dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo",
           "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(CHILD), str(manifest), str(out), str(STEPS), str(snapshot_step)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, f"torchrun failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
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
