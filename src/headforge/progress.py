"""Progress of long loops (rendering shards, training steps, inversion steps).

The loops themselves only call callbacks (:class:`headforge.prior.train.TrainCallback`, the
``callback`` of :func:`headforge.optim.run_phase`, ``on_shard`` of
:func:`headforge.synth.build_dataset`); the CLIs and flows turn them into a
:class:`ProgressBoard`:

- ``bar``: rich progress bars, when stdout is a terminal;
- ``log``: plain lines (``label: 30/100 (30%) loss=0.12``) at every 10 % and at least every
  ``HEADFORGE_PROGRESS_EVERY`` seconds (default 30), when stdout is not a terminal (DVC, CI,
  Prefect workers), so logs stay readable;
- ``off``: nothing.

``HEADFORGE_PROGRESS`` picks the mode: ``0``/``off``, ``log``, ``bar``; unset or ``1`` means
``bar`` on a terminal and ``log`` elsewhere. rich is imported only in ``bar`` mode.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from torch import Tensor

    from headforge.optim import Phase

Mode = Literal["bar", "log", "off"]
ENV = "HEADFORGE_PROGRESS"
ENV_EVERY = "HEADFORGE_PROGRESS_EVERY"


def progress_mode(stream: IO[str] | None = None, env: Mapping[str, str] | None = None) -> Mode:
    """The display mode for ``stream`` (default stdout) under ``HEADFORGE_PROGRESS``."""
    env = os.environ if env is None else env
    value = env.get(ENV, "").strip().lower()
    if value in ("0", "off", "false", "no", "none"):
        return "off"
    if value in ("log", "lines"):
        return "log"
    if value == "bar":
        return "bar"
    if value not in ("", "1", "on", "true", "yes", "auto"):
        raise ValueError(f"{ENV}={value!r} is not one of 0/off, log, bar, 1/auto: "
                         "set one of those or unset it")
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return "bar" if isatty is not None and isatty() else "log"


def _stderr_line(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _fmt_info(info: Mapping[str, float | str]) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in info.items())


@dataclass
class ProgressTask:
    """One bar (or one stream of log lines)."""

    board: ProgressBoard
    label: str
    total: float | None
    unit: str = ""
    completed: float = 0.0
    info: dict[str, float | str] = field(default_factory=dict)
    rich_id: Any = None
    _last_line: float = field(default=0.0, repr=False)
    _last_decile: int = field(default=-1, repr=False)
    updates: int = 0
    """How many times :meth:`update` was called (tests and summaries)."""

    def update(self, completed: float, total: float | None = None,
               **info: float | str) -> None:
        """Set the amount done (and optionally a new total and shown values)."""
        self._set(completed, total, info)

    def advance(self, n: float = 1.0, **info: float | str) -> None:
        """Add ``n`` to the amount done."""
        self._set(self.completed + n, None, info)

    def _set(self, completed: float, total: float | None,
             info: Mapping[str, float | str]) -> None:
        self.completed = float(completed)
        if total is not None:
            self.total = float(total)
        self.info.update(info)
        self.updates += 1
        self.board._show(self)

    def finish(self) -> None:
        """Mark done at the amount reached (an early-stopped stage ends its bar here)."""
        self.total = self.completed
        self.board._show(self, final=True)

    def line(self) -> str:
        """The text of a log line for the current state."""
        unit = f" {self.unit}" if self.unit else ""
        if self.total:
            done = f"{self.completed:g}/{self.total:g}{unit} " \
                   f"({100.0 * self.completed / self.total:.0f}%)"
        else:
            done = f"{self.completed:g}{unit}"
        info = _fmt_info(self.info)
        return f"{self.label}: {done}" + (f" {info}" if info else "")


class ProgressBoard:
    """Progress bars or log lines for any number of tasks; use as a context manager."""

    def __init__(self, mode: Mode | None = None, log: Callable[[str], None] | None = None,
                 every_s: float | None = None, console: Any = None) -> None:
        """``log`` receives the lines in ``log`` mode (default: stderr); ``console`` is an
        optional ``rich.console.Console`` for ``bar`` mode (default: stdout)."""
        self.mode: Mode = progress_mode() if mode is None else mode
        self.log = log or _stderr_line
        self.every_s = float(os.environ.get(ENV_EVERY, "30")) if every_s is None else every_s
        self.tasks: list[ProgressTask] = []
        self._console = console
        self._rich: Any = None

    def __enter__(self) -> ProgressBoard:
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._rich = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                console=self._console or Console(), transient=False)
            self._rich.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None

    def add(self, label: str, total: float | None, unit: str = "") -> ProgressTask:
        """A new task (``total`` None: unknown)."""
        task = ProgressTask(self, label, None if total is None else float(total), unit)
        task._last_line = time.monotonic()
        if self._rich is not None:
            task.rich_id = self._rich.add_task(label, total=task.total, info="")
        self.tasks.append(task)
        return task

    def _show(self, task: ProgressTask, final: bool = False) -> None:
        if self.mode == "off":
            return
        if self._rich is not None:
            self._rich.update(task.rich_id, completed=task.completed, total=task.total,
                              info=_fmt_info(task.info))
            return
        if self.mode != "log":
            return
        now = time.monotonic()
        decile = math.floor(10 * task.completed / task.total) if task.total else -1
        due = final or decile > task._last_decile or now - task._last_line >= self.every_s
        if task.total and task.completed >= task.total and task._last_decile >= 10:
            due = False  # already reported as complete
        if due:
            task._last_decile = max(task._last_decile, decile)
            task._last_line = now
            self.log(task.line())


class StageProgress:
    """``callback`` of :func:`headforge.optim.run_phase` (tracking, inversion, baseline):
    one task per stage, in steps, or in seconds for a stage with a time budget."""

    def __init__(self, board: ProgressBoard, prefix: str) -> None:
        self.board = board
        self.prefix = prefix
        self.current: ProgressTask | None = None
        self._stage: str | None = None
        self._t0 = 0.0
        self._budget: float | None = None

    def __call__(self, stage: Phase, step: int, terms: dict[str, Tensor]) -> None:
        if stage.name != self._stage:
            self.close()
            self._stage, self._t0, self._budget = stage.name, time.monotonic(), \
                stage.time_budget
            label = f"{self.prefix} {stage.name}".strip()
            self.current = self.board.add(label, stage.time_budget or stage.steps,
                                          "s" if stage.time_budget else "steps")
        assert self.current is not None
        if self._budget:
            self.current.update(min(round(time.monotonic() - self._t0, 1), self._budget),
                                step=step + 1)
        else:
            self.current.update(step + 1)

    def close(self) -> None:
        """End the current stage's task where it stopped (early stop or budget)."""
        if self.current is not None:
            self.current.finish()
        self.current, self._stage = None, None
