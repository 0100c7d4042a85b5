"""``headforge ingest``: normalise captures from the inbox into ``data/captures``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from headforge.cli_errors import make_friendly

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
    """Ingest subjects: all staged first, then committed together (all or nothing).

    Bad input (params, captures, consent) fails with one line on stderr (exit 2, or 3 when
    consent is refused); see headforge.cli_errors."""
    from headforge.context import Context
    from headforge.ingest import entry

    over = {"inbox": inbox, "resolution": resolution, "max_frames": max_frames, "video_fps": fps}
    ctx = Context.load(overrides={"ingest": {k: v for k, v in over.items() if v is not None}})
    out = entry.run(ctx, subject)
    typer.echo(f"ingested {', '.join(out['subjects'])}: {out['rows']} images; manifest "
               f"data/captures/manifest.parquet ({out['manifest_sha256'][:12]})")


@app.command("show")
def show(
    manifest: Annotated[Path | None, typer.Option(help="Manifest file.")] = None,
) -> None:
    """Summarise the captures manifest: images per subject, split and source format."""
    import errno

    from headforge.ingest.manifest import read_manifest

    if manifest is not None and not manifest.is_file():
        raise FileNotFoundError(
            errno.ENOENT, "manifest not found; give the path of a manifest.parquet", str(manifest)
        )
    df = read_manifest(manifest)
    if df.empty:
        typer.echo("manifest is empty (run `headforge ingest run`)")
        return
    summary = (
        df.groupby(["subject", "source_format", "split"]).size().rename("images").reset_index()
    )
    typer.echo(summary.to_string(index=False))


make_friendly(app)  # bad input: one line on stderr, exit 2 (3: consent refused)
