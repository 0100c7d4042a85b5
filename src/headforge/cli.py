"""The ``headforge`` command: one sub-command per stage, plus consent, audit and forget.

Each package owns its commands in its own ``cli.py`` (a ``typer.Typer``), registered here.
Heavy imports (torch, mediapipe, ...) happen inside the commands, so ``--help`` is quick.
"""

from __future__ import annotations

import importlib

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
    ("headforge.synth_cli", "app", "synth"),
    ("headforge.privacy.cli", "consent_app", "consent"),
    ("headforge.privacy.cli", "audit_app", "audit"),
    ("headforge.data.cli", "app", "ingest"),
    ("headforge.tracking.cli", "app", "track"),
    ("headforge.prior.cli", "app", "prior"),
    ("headforge.invert.cli", "app", "invert"),
]


def _register() -> None:
    for module, attr, name in _SUBAPPS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name and (e.name == module or module.startswith(e.name + ".")):
                continue
            raise
        app.add_typer(getattr(mod, attr), name=name)


_register()


@app.command()
def version() -> None:
    """Print the headforge version."""
    from headforge import __version__

    typer.echo(__version__)


if __name__ == "__main__":
    app()
