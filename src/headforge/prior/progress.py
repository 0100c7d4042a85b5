"""Training progress as a :class:`TrainCallback` (shown by :mod:`headforge.progress`)."""

from __future__ import annotations

from headforge.prior.train import TrainCallback
from headforge.progress import ProgressTask

SHOWN = ("loss", "psnr")


class TrainProgress(TrainCallback):
    """Moves ``task`` to the step count after every optimiser step, with loss and PSNR.

    The task's total is the run's step count; a resumed run starts at its checkpoint's step.
    """

    def __init__(self, task: ProgressTask) -> None:
        self.task = task

    def on_step(self, step: int, metrics: dict[str, float]) -> None:
        self.task.update(step, **{k: float(metrics[k]) for k in SHOWN if k in metrics})
