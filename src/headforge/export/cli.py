"""``headforge export BUNDLE --format ply|plyseq|gltf|web --out DIR``.

Registered without a name (the command joins the top level). The formats and their help come
from :data:`headforge.export.formats.FORMATS`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from headforge.export.formats import FORMATS

app = typer.Typer(add_completion=False)

FORMAT_HELP = "Export format: " + "; ".join(f"{f.name}: {f.help}" for f in FORMATS.values())


def load_prior_for(bundle: Path, prior: Path | None = None) -> Any:
    """The prior a bundle was inverted from (its card's checkpoint unless given)."""
    from headforge.context import Context
    from headforge.invert.stage import load_prior

    card_path = bundle / "card.json"
    if not card_path.is_file():
        raise typer.BadParameter(f"{bundle} has no card.json: not an avatar bundle (run "
                                 "`headforge invert run` first)", param_hint="BUNDLE")
    ctx = Context.load()
    card = json.loads(card_path.read_text())
    ckpt = prior or Path(card["prior_checkpoint"]["path"])
    ckpt = ckpt if ckpt.is_absolute() else ctx.root / ckpt
    return load_prior(ckpt, ctx.params.head_model, str(ctx.device))


def export_bundle(bundle: Path, fmt: str, out: Path, params: Path | None = None,
                  fps: float = 25.0, prior: Path | None = None, frame: int | None = None
                  ) -> list[Path]:
    """Bake (or reuse the bake of) ``bundle`` and write format ``fmt`` into ``out``."""
    from headforge.export.job import prepare

    if fmt not in FORMATS:
        raise typer.BadParameter(f"unknown format {fmt!r}; formats are {sorted(FORMATS)}",
                                 param_hint="--format")
    job = prepare(bundle, load_prior_for(bundle, prior), params, fps)
    job.static_frame = frame
    return FORMATS[fmt].write(job, out)


@app.command("export")
def export_cmd(
    bundle: Path = typer.Argument(..., help="Avatar bundle folder (results/invert/<subject>)."),
    fmt: str = typer.Option(..., "--format", help=FORMAT_HELP),
    out: Path = typer.Option(..., help="Output folder."),
    params: Path = typer.Option(None, help="Tracked sequence (folder of per-frame .npz) to "
                                "animate; default a short demo loop."),
    fps: float = typer.Option(25.0, help="Frames per second of the animation."),
    prior: Path = typer.Option(None, help="Prior checkpoint (default: the card's)."),
    frame: int = typer.Option(None, help="Animation frame that static formats show (default: "
                              "the neutral face)."),
) -> None:
    """Bake an avatar's Gaussian blendshapes and export it (PLY, glTF package, web viewer)."""
    paths = export_bundle(bundle, fmt, out, params, fps, prior, frame)
    size = sum(p.stat().st_size for p in paths)
    card = json.loads((bundle / "card.json").read_text())
    fid = card.get("bake", {}).get("fidelity", {})
    typer.echo(f"{fmt}: {len(paths)} files, {size / 1e6:.2f} MB -> {out}; bake fidelity "
               f"{fid.get('psnr_mean', float('nan')):.1f} dB PSNR on "
               f"{fid.get('held_out_expressions', 0)} held-out expressions")
