"""``headforge ingest``: normalise captures from the inbox into ``data/captures``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Ingest real captures (consent-checked) into data/captures.",
                  no_args_is_help=True)


@app.command("run")
def run(
    subject: Annotated[
        list[str] | None, typer.Option("--subject", "-s", help="Subject id (repeatable); "
                                       "default: every folder in the inbox.")
    ] = None,
    inbox: Annotated[str | None, typer.Option(help="Inbox folder (default: ingest.inbox).")] = None,
    resolution: Annotated[int | None, typer.Option(help="Output size in pixels.")] = None,
    max_frames: Annotated[int | None, typer.Option(help="Frames per video / camera.")] = None,
    fps: Annotated[float | None, typer.Option(help="Video frames sampled per second.")] = None,
) -> None:
    """Ingest subjects: all staged first, then committed together (all or nothing)."""
    from headforge.config import ConfigError
    from headforge.context import Context
    from headforge.ingest import entry
    from headforge.ingest.errors import CaptureError
    from headforge.privacy import ConsentError

    over = {"inbox": inbox, "resolution": resolution, "max_frames": max_frames, "video_fps": fps}
    try:
        ctx = Context.load(overrides={"ingest": {k: v for k, v in over.items() if v is not None}})
        out = entry.run(ctx, subject)
    except ConsentError as e:
        typer.echo(f"refused: {e}", err=True)
        raise typer.Exit(3) from e
    except (ConfigError, CaptureError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    typer.echo(f"ingested {', '.join(out['subjects'])}: {out['rows']} images; manifest "
               f"data/captures/manifest.parquet ({out['manifest_sha256'][:12]})")


@app.command("show")
def show(
    manifest: Annotated[Path | None, typer.Option(help="Manifest file.")] = None,
) -> None:
    """Summarise the captures manifest: images per subject, split and source format."""
    from headforge.ingest.manifest import read_manifest

    df = read_manifest(manifest)
    if df.empty:
        typer.echo("manifest is empty (run `headforge ingest run`)")
        return
    summary = (
        df.groupby(["subject", "source_format", "split"]).size().rename("images").reset_index()
    )
    typer.echo(summary.to_string(index=False))
