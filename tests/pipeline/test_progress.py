"""Progress display: mode selection, log lines, rich bars, and the loops' callback wiring."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import pytest

from headforge.progress import ProgressBoard, StageProgress, progress_mode


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(("value", "tty", "mode"), [
    (None, True, "bar"), (None, False, "log"), ("1", True, "bar"), ("1", False, "log"),
    ("0", True, "off"), ("off", False, "off"), ("log", True, "log"), ("bar", False, "bar"),
])
def test_mode_follows_the_terminal_and_the_environment(value, tty, mode) -> None:
    env = {} if value is None else {"HEADFORGE_PROGRESS": value}
    assert progress_mode(_Stream(tty), env) == mode


def test_bad_mode_names_the_choices() -> None:
    with pytest.raises(ValueError, match="HEADFORGE_PROGRESS='sometimes'.*0/off, log, bar"):
        progress_mode(_Stream(True), {"HEADFORGE_PROGRESS": "sometimes"})


def test_log_mode_writes_a_line_per_tenth_not_per_step() -> None:
    lines: list[str] = []
    with ProgressBoard(mode="log", log=lines.append, every_s=1e9) as board:
        task = board.add("render", 200, "steps")
        for i in range(200):
            task.update(i + 1, loss=1.0 / (i + 1))
        task.finish()  # already complete: no repeated line
    assert task.updates == 200 and len(lines) == 11
    assert lines[0].startswith("render: 1/200 steps (0%) loss=1")
    assert lines[-1].startswith("render: 200/200 steps (100%) loss=0.005")
    pct = [int(re.search(r"\((\d+)%\)", s).group(1)) for s in lines]  # type: ignore[union-attr]
    assert pct == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]


def test_log_mode_early_stop_and_unknown_total() -> None:
    lines: list[str] = []
    with ProgressBoard(mode="log", log=lines.append, every_s=1e9) as board:
        stopped = board.add("fit", 100)
        for i in range(5):
            stopped.update(i + 1)
        stopped.finish()  # ends at 5 of 5
        open_ended = board.add("shards", None)
        open_ended.advance()
        open_ended.update(2, 4)
    assert lines == ["fit: 1/100 (1%)", "fit: 5/5 (100%)", "shards: 2/4 (50%)"]


def test_off_mode_is_silent_and_bar_mode_draws_rich_bars() -> None:
    lines: list[str] = []
    with ProgressBoard(mode="off", log=lines.append) as board:
        board.add("x", 3).update(3)
    assert lines == []
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with ProgressBoard(mode="bar", log=lines.append, console=console) as board:
        task = board.add("train_prior base", 3, "steps")
        for i in range(3):
            task.update(i + 1, loss=0.5)
    assert lines == [] and "train_prior base" in out.getvalue() and "3/3" in out.getvalue()


def test_training_reports_every_step(heads_manifest: Path, tmp_path: Path) -> None:
    from headforge.prior.progress import TrainProgress
    from headforge.prior.stage import load_head
    from headforge.prior.train import train
    from tests.prior.helpers import HEAD, TINY_TRAIN, training_views

    cfg = dataclasses.replace(TINY_TRAIN, steps=3)
    views, _ = training_views(heads_manifest, cfg)
    head, parts = load_head(HEAD)
    lines: list[str] = []
    with ProgressBoard(mode="log", log=lines.append, every_s=1e9) as board:
        task = board.add("train", cfg.steps, "steps")
        res = train(cfg, views, tmp_path, head, parts, callbacks=[TrainProgress(task)])
    assert task.updates == 3 and task.completed == res.steps == 3
    assert lines[-1].startswith("train: 3/3 steps (100%) loss=") and "psnr=" in lines[-1]
    assert float(lines[-1].split("loss=")[1].split()[0]) == pytest.approx(
        res.history[-1]["loss"], rel=1e-3)


def test_inversion_and_baseline_report_their_stages(heads_manifest: Path,
                                                    tmp_path: Path) -> None:
    from headforge.invert.stage import invert_subject, load_prior, synthetic_subject_inputs
    from headforge.prior.data import read_manifest
    from headforge.prior.stage import load_head
    from headforge.prior.train import train
    from tests.prior.helpers import HEAD, TINY_INVERT, TINY_TRAIN, held_out, training_views

    views, _ = training_views(heads_manifest)
    head, parts = load_head(HEAD)
    ckpt = train(TINY_TRAIN, views, tmp_path / "prior", head, parts).checkpoint
    prior = load_prior(ckpt, HEAD, "cpu")
    cfg = dataclasses.replace(TINY_INVERT, steps_latent=3, steps_decoder=2)
    chosen = synthetic_subject_inputs(read_manifest(heads_manifest), held_out(heads_manifest)[0],
                                      cfg, heads_manifest.parent)
    lines: list[str] = []
    with ProgressBoard(mode="log", log=lines.append, every_s=1e9) as board:
        steps = StageProgress(board, "subj")
        invert_subject(prior, chosen, cfg, tmp_path / "subj", "subj", ckpt, callback=steps)
        steps.close()
    labels = [t.label for t in board.tasks]
    assert labels == ["subj latent", "subj decoder", "subj baseline"]
    latent, decoder, baseline = board.tasks
    assert (latent.updates, latent.completed, latent.total) == (3, 3, 3)
    assert (decoder.updates, decoder.completed, decoder.total) == (2, 2, 2)
    # the baseline runs for the inversion's wall time: shown in seconds, closed when done
    assert baseline.unit == "s" and baseline.updates >= 1 and baseline.total == \
        baseline.completed
    assert any(s.startswith("subj latent: 3/3 steps (100%)") for s in lines)
    assert any(s.startswith("subj decoder: 2/2 steps (100%)") for s in lines)


@pytest.mark.blender
def test_synth_reports_each_finished_shard(tmp_path: Path) -> None:
    from headforge.config import SynthConfig
    from headforge.synth import build_dataset

    cfg = SynthConfig(identities=2, expressions=1, cameras=2, width=24, height=24, samples=2,
                      identities_per_shard=1, max_workers=2, threads_per_worker=1,
                      texture_size=64, shard_timeout_s=300)
    seen: list[tuple[str, int, int]] = []
    summary = build_dataset(cfg, tmp_path, held_out=1,
                            on_shard=lambda o, n, total: seen.append((o.shard, n, total)))
    assert summary.failed == {} and summary.shards == 2
    assert sorted(s for s, _, _ in seen) == ["shard_0000", "shard_0001"]
    assert [(n, t) for _, n, t in seen] == [(1, 2), (2, 2)]
