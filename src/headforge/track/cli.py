"""``headforge track``: landmark detection and FLAME-format fitting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Facial landmarks and FLAME-format tracking of captured subjects.", no_args_is_help=True
)


@app.command("detectors")
def detectors() -> None:
    """Which landmark detectors can run here (and what to install for the others)."""
    from headforge.config import TrackConfig, load_section
    from headforge.track import detectors_available

    cfg = load_section(TrackConfig, "track")
    for name, st in detectors_available(cfg.face_alignment_weights).items():
        typer.echo(f"{name:15s} {'ok' if st.available else 'unavailable: ' + st.reason}")


@app.command("landmarks")
def landmarks(
    image: Annotated[Path, typer.Argument(help="An RGB image file.")],
    detector: Annotated[str | None, typer.Option(help="mediapipe | dlib | face_alignment")] = None,
) -> None:
    """Detect landmarks in one image and print a JSON summary (no cache)."""
    from headforge.config import TrackConfig, load_section
    from headforge.track import LandmarkError, load_rgb, make_detector, to_ibug68

    over = {"detector": detector} if detector else None
    cfg = load_section(TrackConfig, "track", overrides=over)
    try:
        with make_detector(cfg) as det:
            r = det.detect(load_rgb(image))
    except (LandmarkError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    out: dict[str, object] = {"detector": r.detector, "found": r.found, "reason": r.reason,
                              "image_size": r.image_size, "score": r.score}  # fmt: skip
    p = to_ibug68(r).points
    if r.points is not None and p is not None:
        out.update(convention=r.convention, points=len(r.points), box=r.box,
                   eye_corners_ibug68=p[[36, 39, 42, 45]].round(1).tolist())  # fmt: skip
    typer.echo(json.dumps(out, indent=1))


@app.command("run")
def run(
    subject: Annotated[
        list[str] | None,
        typer.Option(
            "--subject", "-s", help="Subject id (repeatable); default: all in the manifest."
        ),
    ] = None,
) -> None:
    """Track subjects from data/captures (sequentially, without Prefect; the same entry as
    the ``track`` stage)."""
    from headforge.config import ConfigError
    from headforge.context import Context
    from headforge.track import entry
    from headforge.track.scene import SceneError

    try:
        ctx = Context.load()
        out = entry.run(ctx, subject, skip_failed=True)
    except (ConfigError, SceneError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    for s, why in out["failed"].items():
        typer.echo(f"{s}: {why}", err=True)
    for s in out["tracked"]:
        typer.echo(f"{s}: {out['status_counts'][s]}")
    if out["failed"]:
        raise typer.Exit(3)
