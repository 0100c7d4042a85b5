"""DVC stage ``invert``: avatars of held-out synthetic identities and tracked real subjects.

The stage is :func:`headforge.invert.entry.run`; this flow runs its per-subject work as one
task per subject on the task runner ``invert.runner`` names (threads, or Prefect's
DaskTaskRunner: see :mod:`flows._runners`, shared with synth and track).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner

from flows._runners import fan_out, run_with_runner, threads_per_task
from headforge.context import Context
from headforge.invert import entry
from headforge.timing import stage_timer
from tasks.invert import invert_subject


# called directly (not through :func:`run`), subjects go one at a time, as the default params say
@flow(name="invert", task_runner=ThreadPoolTaskRunner(max_workers=1))
def invert(root: Path | None = None) -> list[str]:
    """Write ``results/invert/<subject>/`` bundles and ``results/invert/index.json``."""
    ctx = Context.load(root)
    workers = ctx.params.invert.max_workers
    threads = threads_per_task(workers)
    each = fan_out(lambda s: invert_subject.submit(ctx, s, threads), workers, get_run_logger())
    with stage_timer("invert", ctx.root):
        return entry.run(ctx, each=each)


def run(root: Path | None = None) -> list[str]:
    """The stage as DVC runs it: :func:`invert` on the task runner ``invert.runner`` names."""
    ctx = Context.load(root)
    out: list[str] = run_with_runner(invert, ctx.params.invert, root=ctx.root)
    return out


if __name__ == "__main__":
    print(run())
