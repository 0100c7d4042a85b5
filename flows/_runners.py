"""How a stage's flow runs its per-identity / per-subject tasks: the one place that turns a
stage's ``runner`` / ``max_workers`` / ``dask_address`` keys into a Prefect task runner, and
the Prefect form of a stage entry's :data:`headforge.fanout.Each`.

``local``: Prefect's thread pool (``max_workers`` threads); ``dask``: Prefect's
``DaskTaskRunner``, on the scheduler at ``dask_address`` or, when it is empty, on a local
cluster of ``max_workers`` single-threaded worker processes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from prefect.task_runners import ThreadPoolTaskRunner

from headforge.fanout import Each

RUNNERS = ("local", "dask")


class RunnerConfig(Protocol):
    """The keys of a stage section that pick its task runner (SynthConfig, TrackConfig, InvertConfig)."""

    @property
    def runner(self) -> str: ...

    @property
    def max_workers(self) -> int: ...

    @property
    def dask_address(self) -> str: ...


def task_runner(cfg: RunnerConfig) -> Any:
    """The Prefect task runner ``cfg`` asks for; an unknown runner raises ``ValueError``."""
    if cfg.runner not in RUNNERS:
        raise ValueError(f"runner {cfg.runner!r} is not one of {RUNNERS}: fix it in params.yaml")
    workers = max(1, int(cfg.max_workers))
    if cfg.runner == "dask":
        from prefect_dask import DaskTaskRunner

        if cfg.dask_address:
            return DaskTaskRunner(address=cfg.dask_address)
        return DaskTaskRunner(
            cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                            "dashboard_address": None}
        )
    return ThreadPoolTaskRunner(max_workers=workers)


def run_with_runner(flow: Any, cfg: RunnerConfig, **kwargs: Any) -> Any:
    """Call ``flow(**kwargs)`` on the task runner ``cfg`` picks (a fresh one per call)."""
    return flow.with_options(task_runner=task_runner(cfg))(**kwargs)


def threads_per_task(workers: int) -> int:
    """torch intra-op threads for each of ``workers`` tasks running at once."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def settle(futures: Sequence[tuple[str, Any]], log: Any = None,
           on_done: Callable[[str, Any], None] | None = None
           ) -> tuple[list[Any], dict[str, str]]:
    """Wait for every ``(subject, future)``; returns the results of those that completed (in
    order) and ``subject -> failure message`` for the others, each logged by ``log.error``
    when a logger is given. A failed subject never stops the others."""
    done: list[Any] = []
    failed: dict[str, str] = {}
    for subject, fut in futures:
        fut.wait()
        if fut.state.is_completed():
            done.append(fut.result())
            if on_done is not None:
                on_done(subject, done[-1])
        else:
            failed[subject] = str(fut.state.message or "failed")
            if log is not None:
                log.error("subject %s: %s", subject, failed[subject])
    return done, failed


def fan_out(submit: Callable[[str], Any], batch: int, log: Any = None,
            on_done: Callable[[str, Any], None] | None = None) -> Each:
    """An :data:`~headforge.fanout.Each` submitting ``submit(key)`` (a task's ``.submit``)
    ``batch`` keys at a time and settling each batch before the next (``on_done(key, result)``
    as each result is collected, in this process)."""

    def each(keys: Sequence[str]) -> tuple[list[Any], dict[str, str]]:
        done: list[Any] = []
        failed: dict[str, str] = {}
        step = max(1, batch)
        for i in range(0, len(keys), step):
            d, f = settle([(k, submit(k)) for k in keys[i : i + step]], log, on_done)
            done += d
            failed.update(f)
        return done, failed

    return each
