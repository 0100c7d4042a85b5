"""Per-subject work of a stage, run one way or another.

A stage entry (``headforge.<stage>.run``) decides *what* to do for each key (a subject, a
shard) and hands the keys to an :data:`Each`: :func:`serial` runs them in this process one
after the other (the CLI, tests, benchmarks); the Prefect flows pass one that submits a task per
key on the stage's task runner (threads or Dask). Either way a failed key never stops the
others: it comes back in ``failed`` with its message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

Each = Callable[[Sequence[str]], tuple[list[Any], dict[str, str]]]
"""keys -> (results of the keys that finished, in order; key -> failure message)."""

log = logging.getLogger(__name__)


def serial(fn: Callable[[str], Any]) -> Each:
    """An :data:`Each` calling ``fn(key)`` for every key in this process, in order."""

    def each(keys: Sequence[str]) -> tuple[list[Any], dict[str, str]]:
        done: list[Any] = []
        failed: dict[str, str] = {}
        for key in keys:
            try:
                done.append(fn(key))
            except Exception as e:  # noqa: BLE001 - reported per key, like the task runners
                failed[key] = f"{type(e).__name__}: {e}"
                log.error("%s: %s", key, failed[key])
        return done, failed

    return each


def failure_message(stage: str, failed: dict[str, str]) -> str:
    """One line naming every failed key and why."""
    return (f"{stage} failed for {sorted(failed)}: "
            + "; ".join(f"{k}: {v}" for k, v in sorted(failed.items())))
