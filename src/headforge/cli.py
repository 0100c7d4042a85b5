"""The ``headforge`` command: one sub-command per stage, plus consent, audit and forget.

Each package owns its commands in its own ``cli.py`` (a ``typer.Typer``), registered here.
Heavy imports (torch, mediapipe, ...) happen inside the commands, so ``--help`` is quick.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import typer

app = typer.Typer(
    name="headforge",
    help="Few-shot 3D Gaussian head avatars: synth, ingest, track, train_prior, invert, "
    "evaluate, report, and consent-driven forget.",
    no_args_is_help=True,
    add_completion=False,
)

# (module, attribute, name) of each sub-app; a module that is absent is skipped so that the
# command still starts while a stage is being built.
_SUBAPPS: list[tuple[str, str, str]] = [
    ("headforge.morphable.cli", "app", "model"),
    ("headforge.splat.cli", "app", "splat"),
    ("headforge.synth.cli", "app", "synth"),
    ("headforge.privacy.cli", "consent_app", "consent"),
    ("headforge.privacy.cli", "audit_app", "audit"),
    ("headforge.ingest.cli", "app", "ingest"),
    ("headforge.track.cli", "app", "track"),
    ("headforge.prior.cli", "app", "prior"),
    ("headforge.invert.cli", "app", "invert"),
    ("headforge.privacy.forget_cli", "app", ""),  # top-level `forget` and `retention` commands
]


def _register() -> None:
    for module, attr, name in _SUBAPPS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name and (e.name == module or module.startswith(e.name + ".")):
                continue
            raise
        if name:
            app.add_typer(getattr(mod, attr), name=name)
        else:
            app.add_typer(getattr(mod, attr))


_register()


@app.command()
def version() -> None:
    """Print the headforge version."""
    from headforge import __version__

    typer.echo(__version__)


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """What exists, which stages are stale (dvc status), consents and pending retention."""
    import dataclasses
    import json

    from headforge.paths import project_root
    from headforge.status import collect_status

    root = project_root()
    try:
        from headforge.privacy import Registry

        registry = Registry.from_config()
    except ModuleNotFoundError:
        registry = None
    st = collect_status(root, registry)
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(st), indent=1, default=str))
        return
    typer.echo("outputs:")
    for k, n in st.outputs.items():
        typer.echo(f"  {k}: {n} files")
    if st.dvc_error:
        typer.echo(f"dvc status failed: {st.dvc_error}")
    else:
        typer.echo("stale stages: " + (", ".join(sorted(st.stale)) or "none (up to date)"))
    typer.echo(f"subjects: {st.subjects}; consents: {len(st.consents)} "
               f"({sum(c['valid'] for c in st.consents)} valid)")
    typer.echo("pending retention: " + (", ".join(st.pending_retention) or "none"))


@app.command()
def serve(
    no_schedules: bool = typer.Option(False, help="Serve without the cron schedules."),
) -> None:
    """Serve the deployments (pipeline, forget, regenerate, retention) on a local Prefect server.

    Starts a server on 127.0.0.1 unless PREFECT_API_URL points at one; runs until interrupted.
    """
    import subprocess
    import sys

    from headforge.paths import project_root

    args = [sys.executable, "-m", "flows.deploy"] + (["--no-schedules"] if no_schedules else [])
    raise typer.Exit(subprocess.call(args, cwd=project_root()))


@app.command()
def avatar(
    inputs: list[Path] = typer.Argument(..., help="Photos (1-3 or more) or one video of one "
                                        "person."),
    subject: str = typer.Option(..., "--subject", help="Pseudonymous subject id."),
    evidence: str = typer.Option(None, help="Consent evidence (form reference): records the "
                                 "capture and avatar consents; without it both must exist."),
    out: Path = typer.Option(None, help="Bundle folder inside the project (default "
                             "results/invert/<subject>)."),
    hold_out: int = typer.Option(None, help="Last frames of a video kept out of the inputs and "
                                 "scored (default invert.test_frames; photos: 0)."),
) -> None:
    """Photos or a video -> a drivable avatar: consent, ingest, track, invert, bundle, card."""
    import json

    from headforge.avatar import make_avatar
    from headforge.config import ConfigError
    from headforge.context import Context
    from headforge.ingest.errors import CaptureError
    from headforge.privacy import ConsentError

    try:
        ctx = Context.load()
        res = make_avatar(ctx, inputs, subject, evidence, out, hold_out,
                          log=lambda m: typer.echo(m, err=True))
    except ConsentError as e:
        typer.echo(f"refused: {e}", err=True)
        raise typer.Exit(3) from e
    except (ConfigError, CaptureError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    typer.echo(json.dumps({"bundle": str(res.bundle), "seconds": res.seconds,
                           "metrics": res.card.get("held_out_metrics")}, indent=1))


@app.command()
def demo(
    inbox: str = typer.Option("inbox", help="Inbox folder to write the demo captures into."),
) -> None:
    """Write the demo's real inputs (two public-domain portraits) and grant their consent."""
    from headforge.demo import prepare_demo_inbox
    from headforge.paths import project_root

    for p in prepare_demo_inbox(project_root() / Path(inbox)):
        typer.echo(str(p))


if __name__ == "__main__":
    app()
