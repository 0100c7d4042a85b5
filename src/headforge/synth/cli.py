"""``headforge synth``: render the synthetic head dataset, or preview it as a contact sheet."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(help="Synthetic heads rendered with Blender + BlenderProc (synth stage).",
                  no_args_is_help=True)


def _context(profile: str | None, overrides: dict[str, Any]) -> Any:
    from headforge.context import Context

    return Context.load(profile=profile, overrides={
        "synth": {k: v for k, v in overrides.items() if v is not None}})


@app.command()
def run(
    profile: str = typer.Option(None, help="tiny | paper (default: params.yaml's profile)"),
    identities: int = typer.Option(None, help="override synth.identities"),
    expressions: int = typer.Option(None, help="override synth.expressions"),
    cameras: int = typer.Option(None, help="override synth.cameras (at most 28)"),
    size: int = typer.Option(None, help="override width and height (square images)"),
    samples: int = typer.Option(None, help="override synth.samples"),
    workers: int = typer.Option(None, help="override synth.max_workers"),
    out: Path = typer.Option(None, help="output folder (default data/synth)"),
) -> None:
    """Render the dataset with params.yaml's synth settings (plus overrides)."""
    from headforge.progress import ProgressBoard
    from headforge.synth import SynthFailed, build_dataset

    ctx = _context(profile, {"identities": identities, "expressions": expressions,
                            "cameras": cameras, "width": size, "height": size,
                            "samples": samples, "max_workers": workers})
    try:
        with ProgressBoard() as board:
            bar = board.add("synth shards", None, "shards")
            summary = build_dataset(
                ctx.params.synth, ctx.root, out_dir=out,
                held_out=ctx.params.evaluate.held_out, head_model=ctx.params.head_model,
                on_shard=lambda o, n, total: bar.update(n, total, last=o.shard,
                                                        ok="yes" if o.ok else "FAILED"))
    except SynthFailed as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from e
    result = dataclasses.asdict(summary)
    result["images_per_second"] = round(summary.images_per_second, 2)
    typer.echo(json.dumps(result, indent=1))


@app.command()
def preview(
    out: Path = typer.Option(Path("docs/synth_contact_sheet.png"), help="PNG to write"),
    data: Path = typer.Option(None, help="dataset folder with manifest.parquet (default "
                              "data/synth)"),
    render: bool = typer.Option(False, help="render a small preview dataset first (in a "
                                "temporary folder) instead of reading one"),
    identities: int = typer.Option(6, help="rows (identities) in the sheet"),
    tile: int = typer.Option(128, help="tile size in pixels (also the render size with "
                             "--render)"),
) -> None:
    """A grid of identities x views with alpha masks, part segmentation and albedo."""
    from headforge.synth import build_dataset
    from headforge.synth.preview import write_contact_sheet

    if not render:
        from headforge.paths import project_root

        root = project_root()
        folder = (data or root / "data" / "synth").resolve()
        # manifest paths are relative to the project holding <project>/data/synth
        typer.echo(write_contact_sheet(folder / "manifest.parquet", folder.parents[1], out,
                                       identities, tile=tile))
        return
    cfg = _context(None, {"identities": identities, "expressions": 2, "cameras": 28,
                          "width": tile, "height": tile, "samples": 32,
                          "identities_per_shard": max(1, -(-identities // 2))}).params.synth
    with tempfile.TemporaryDirectory(prefix="synth-preview-") as tmp:
        base = Path(tmp)
        build_dataset(cfg, base, out_dir=base / "data" / "synth",
                      work_dir=base / "data" / ".synth_work")
        typer.echo(write_contact_sheet(base / "data" / "synth" / "manifest.parquet", base,
                                       out.resolve(), identities, tile=tile))
