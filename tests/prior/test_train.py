from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from headforge.prior.stage import load_head
from headforge.prior.train import TrainCallback, load_checkpoint, prior_from_checkpoint, train
from tests.prior.helpers import HEAD, TINY_TRAIN, training_views

ROOT = Path(__file__).resolve().parents[2]


def test_two_step_smoke(heads_manifest: Path, tmp_path: Path) -> None:
    views, held = training_views(heads_manifest)
    assert held and not set(held) & set(views.subjects)  # held-out identities never trained on
    head, parts = load_head(HEAD)
    seen: list[int] = []

    class Rec(TrainCallback):
        def on_step(self, step: int, metrics: dict[str, float]) -> None:
            seen.append(step)

    res = train(TINY_TRAIN, views, tmp_path, head, parts, callbacks=[Rec()])
    assert res.steps == 2 and seen == [1, 2] and res.resumed_from is None
    assert res.checkpoint.is_file() and (tmp_path / "checkpoints" / "last.pt").is_file()
    summary = json.loads((tmp_path / "train_metrics.json").read_text())
    assert summary["steps"] == 2 and summary["n_gaussians"] == res.n_gaussians
    assert all(torch.isfinite(torch.tensor(h["loss"])) for h in res.history)
    ck = load_checkpoint(res.checkpoint)
    prior = prior_from_checkpoint(ck, head, parts)
    assert prior.spec.subjects == tuple(views.subjects)
    assert prior.part_counts()["scalp"] > 0


def test_loss_falls(heads_manifest: Path, tmp_path: Path) -> None:
    cfg = dataclasses.replace(TINY_TRAIN, steps=40, batch=2, checkpoint_every=100)
    views, _ = training_views(heads_manifest, cfg)
    head, parts = load_head(HEAD)
    h = train(cfg, views, tmp_path, head, parts).history
    first = sum(x["loss"] for x in h[:5]) / 5
    last = sum(x["loss"] for x in h[-5:]) / 5
    assert last < 0.8 * first, (first, last)


def test_adaptation_starts_from_the_base_checkpoint(heads_manifest: Path, tmp_path: Path) -> None:
    views, _ = training_views(heads_manifest)
    head, parts = load_head(HEAD)
    base = train(TINY_TRAIN, views, tmp_path / "base", head, parts)
    real = views.select(views.subject.numpy() == 0)  # stand-in for one consented subject
    real.subjects = ["real_subject"]
    real.subject = torch.zeros_like(real.subject)
    ad = train(TINY_TRAIN, real, tmp_path / "adapted", head, parts, steps=1, lr=1e-4,
               base_checkpoint=base.checkpoint)
    ck = load_checkpoint(ad.checkpoint)
    b = load_checkpoint(base.checkpoint)
    assert ck["spec"]["subjects"] == ["real_subject"]
    assert ck["base"]["sha256"] and ck["base"]["subjects"] == list(views.subjects)
    assert ck["base"]["path"] == "../base/prior.pt"  # relative: names no machine's folders
    diffs = [float((ck["decoder"][k] - b["decoder"][k]).abs().max()) for k in b["decoder"]]
    assert 0 < max(diffs) < 1e-2  # one small step away from the base weights


_CHILD = """
import sys, time, dataclasses
from pathlib import Path
sys.path[:0] = [{root!r}, {src!r}]
from headforge.prior.stage import load_head
from headforge.prior.train import TrainCallback, train
from tests.prior.helpers import HEAD, TINY_TRAIN, training_views

class Slow(TrainCallback):
    def on_step(self, step, metrics):
        time.sleep(0.3)

cfg = dataclasses.replace(TINY_TRAIN, steps=24, checkpoint_every=4)
views, _ = training_views(Path({manifest!r}), cfg)
head, parts = load_head(HEAD)
train(cfg, views, Path({out!r}), head, parts, callbacks=[Slow()])
"""


def test_killed_run_resumes_from_its_last_checkpoint(heads_manifest: Path, tmp_path: Path) -> None:
    cfg = dataclasses.replace(TINY_TRAIN, steps=24, checkpoint_every=4)
    out = tmp_path / "killed"
    code = _CHILD.format(root=str(ROOT), src=str(ROOT / "src"), manifest=str(heads_manifest),
                         out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    last = out / "checkpoints" / "last.pt"
    t0 = time.monotonic()
    try:
        while True:
            if last.is_file() and load_checkpoint(last)["step"] >= 8:
                break
            assert proc.poll() is None, "training finished or crashed before it could be killed"
            assert time.monotonic() - t0 < 120, "no checkpoint within 120 s"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    killed_at = load_checkpoint(last)["step"]
    assert 8 <= killed_at < 24 and not (out / "prior.pt").exists()

    views, _ = training_views(heads_manifest, cfg)
    head, parts = load_head(HEAD)
    resumed = train(cfg, views, out, head, parts)
    assert resumed.resumed_from == killed_at and resumed.steps == 24
    assert [h["step"] for h in resumed.history] == list(range(1, 25))
    # the resumed curve is the uninterrupted one: same batches, same optimiser state
    ref = train(cfg, views, tmp_path / "ref", head, parts)
    got = torch.tensor([h["loss"] for h in resumed.history])
    want = torch.tensor([h["loss"] for h in ref.history])
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


def test_bad_device_names_the_fix(heads_manifest: Path, tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    views, _ = training_views(heads_manifest)
    head, parts = load_head(HEAD)
    from headforge.params_loader import ConfigError

    with pytest.raises(ConfigError, match="set train_prior.device: auto or cpu"):
        train(dataclasses.replace(TINY_TRAIN, device="cuda"), views, tmp_path, head, parts)


def test_a_nan_loss_stops_training_naming_the_fix(heads_manifest: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import headforge.prior.train as train_mod

    real = train_mod.photometric_terms

    def poisoned(*a: object, **k: object) -> dict:
        terms = real(*a, **k)
        terms["l1"] = terms["l1"] * float("nan")
        return terms

    monkeypatch.setattr(train_mod, "photometric_terms", poisoned)
    views, _ = training_views(heads_manifest)
    head, parts = load_head(HEAD)
    with pytest.raises(FloatingPointError, match="lower train_prior.lr"):
        train_mod.train(TINY_TRAIN, views, tmp_path / "nan", head, parts)
    assert not (tmp_path / "nan" / "prior.pt").exists()
