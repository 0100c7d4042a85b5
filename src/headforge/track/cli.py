"""``headforge track``: landmark detection and FLAME-format fitting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from headforge.extensions import command_reading
from headforge.track.detectors import DETECTORS

app = typer.Typer(
    help="Facial landmarks and FLAME-format tracking of captured subjects.", no_args_is_help=True
)


@app.command("detectors")
def detectors() -> None:
    """The registered landmark detectors: which can run here, what the others need."""
    from headforge.config import TrackConfig, load_section
    from headforge.track.detectors import DETECTORS, probe_detector

    cfg = load_section(TrackConfig, "track")
    for entry in DETECTORS.entries():
        st = probe_detector(entry, cfg)
        typer.echo(f"{entry.name:15s} {'ok' if st.available else 'unavailable: ' + st.reason}")
        typer.echo(f"{'':15s} {entry.layout}: {entry.summary}")


@app.command("landmarks", cls=command_reading(detector=DETECTORS))
def landmarks(
    image: Annotated[Path, typer.Argument(help="An RGB image file.")],
    detector: Annotated[
        str | None, typer.Option(help="A registered landmark detector (default: track.detector).")
    ] = None,
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
    """Track subjects from data/captures (sequentially, without Prefect)."""
    from headforge.config import ConfigError, HeadModelConfig, TrackConfig, load_section
    from headforge.paths import project_root
    from headforge.privacy import ConsentError, Registry
    from headforge.track.scene import SceneError
    from headforge.track.stage import read_subjects, run_subject, write_summary

    root = project_root()
    try:
        cfg = load_section(TrackConfig, "track")
        head_cfg = load_section(HeadModelConfig, "head_model")
        captures = read_subjects(root / "data" / "captures" / "manifest.parquet", root)
    except (ConfigError, SceneError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    todo = list(subject or sorted(captures))
    outcomes, failed = [], {}
    with Registry.from_config() as reg:
        for s in todo:
            try:
                o = run_subject(s, captures.get(s, []), cfg, head_cfg, root, reg)
            except (ConsentError, SceneError) as e:
                failed[s] = str(e)
                typer.echo(f"{s}: {e}", err=True)
                continue
            outcomes.append(o)
            le = o.report["landmark_error"]
            typer.echo(
                f"{s}: {o.report['status_counts']}, landmark error mean "
                f"{le['mean_px']:.2f} px, p95 {le['p95_px']:.2f} px"
            )
    write_summary(root / "results" / "metrics" / "track.json", outcomes, failed)
    if failed:
        raise typer.Exit(3)
