"""``headforge forget <subject> [--dry-run] [--yes]`` and ``headforge retention``.

Register with ``app.add_typer(forget_cli.app)`` (no name: the commands join the top level).
Both run their Prefect flow (``python -m flows.forget`` / ``flows.retention``) from the project
root; without ``--yes`` on a terminal, the plan is previewed first and a confirmation asked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import typer
from typer.core import TyperCommand

app = typer.Typer(add_completion=False)


class _ListsPlaces(TyperCommand):
    """``--help`` ends with the places forget cleans, read from the place registry when the help
    is shown (so plain invocations import nothing of forget)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from headforge.privacy.forget.places import PLACES

        self.epilog = "Places it cleans: " + ", ".join(PLACES.names()) + "."
        super().format_help(ctx, formatter)


def _flow(module: str, args: list[str]) -> int:
    """Run the flow module from the project root. Without ``PREFECT_API_URL``/``PREFECT_HOME``
    it uses the project's Prefect home (``.prefect``, the Makefile's), so the forget cleans the
    API database the pipeline's runs are in."""
    from headforge.paths import project_root

    root = project_root()
    env = dict(os.environ)
    if not env.get("PREFECT_API_URL") and not env.get("PREFECT_HOME") and (
            root / ".prefect").is_dir():
        env["PREFECT_HOME"] = str(root / ".prefect")
    return subprocess.call([sys.executable, "-m", module, *args], cwd=root, env=env)


@app.command(cls=_ListsPlaces)
def forget(
    subject: str = typer.Argument(..., help="Pseudonymous subject id, e.g. s0042."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Plan and preview; change nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Apply without asking."),
    scope: str | None = typer.Option(
        None, help="Forget only what this consent scope covered (train_prior, avatar)."),
) -> None:
    """Delete every copy of a subject's data and every model trained on it, then verify.

    Reaches the inbox, captures, manifests, tracking and avatar outputs, models (queued for
    retraining without the subject), reports and logs, Prefect results, the DVC cache, every
    DVC remote and version in git history, and DVC's run-cache. Writes a hash-chained audit
    entry with counts and hashes only.
    """
    extra = ["--scope", scope] if scope else []
    if dry_run or yes:
        flags = ["--dry-run"] if dry_run else ["--yes"]
        raise typer.Exit(_flow("flows.forget", [subject, *flags, *extra]))
    if not sys.stdin.isatty():
        typer.echo("not a terminal: previewing only; pass --yes to delete", err=True)
        raise typer.Exit(_flow("flows.forget", [subject, "--dry-run", *extra]))
    code = _flow("flows.forget", [subject, "--dry-run", *extra])
    if code != 0:
        raise typer.Exit(code)
    if not typer.confirm(f"Delete everything of {subject} listed above?", default=False):
        typer.echo("nothing deleted")
        raise typer.Exit(3)
    raise typer.Exit(_flow("flows.forget", [subject, "--yes", *extra]))


@app.command()
def retention(
    now: str | None = typer.Option(None, help="Evaluate consents at this ISO-8601 time."),
) -> None:
    """Forget every subject (or consent scope) whose consent has ended (what the daily
    retention deployment runs)."""
    raise typer.Exit(_flow("flows.retention", [now] if now else []))
