"""``headforge invert``: few-shot avatars from the prior, and driving them."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="Few-shot inversion of the prior (invert stage).", no_args_is_help=True)


@app.command("run")
def run_cmd(
    subject: str = typer.Argument(..., help="Subject id in the manifest."),
    real: bool = typer.Option(False, help="A real monocular clip (params from results/track) "
                              "instead of a synthetic identity."),
    manifest: Path = typer.Option(None, help="Manifest (default data/synth or data/captures)."),
    prior: Path = typer.Option(None, help="Prior checkpoint (default: the adapted prior for a "
                               "real subject when it exists, else the base prior)."),
    out: Path = typer.Option(None, help="Bundle folder (default results/invert/<subject>)."),
    baseline: bool = typer.Option(True, help="Also fit the no-prior baseline."),
) -> None:
    """Invert the prior to a few images of one subject and write its avatar bundle (the same
    code path as the ``invert`` stage: real subjects use the adapted prior when it exists)."""
    from headforge.context import Context
    from headforge.invert.entry import REAL, SYNTHETIC, invert_one

    ctx = Context.load()
    path = invert_one(ctx, subject, REAL if real else SYNTHETIC, checkpoint=prior,
                      manifest=manifest, out=out, baseline=baseline)
    typer.echo(json.dumps(json.loads((path / "card.json").read_text()), indent=2))


@app.command("drive")
def drive_cmd(
    avatar: Path = typer.Argument(..., help="Avatar bundle folder (results/invert/<subject>)."),
    params: Path = typer.Option(..., help="Folder of tracked per-frame .npz parameters."),
    out: Path = typer.Option(None, help="Output GIF (default <avatar>/drive_<folder>.gif)."),
    prior: Path = typer.Option(None, help="Prior checkpoint (default: the one in card.json)."),
    fps: float = typer.Option(12.0, help="GIF frame rate."),
) -> None:
    """Render the avatar driven by another tracked sequence (cross-reenactment)."""
    import torch

    from headforge.context import Context
    from headforge.invert.bundle import drive, load_bundle, load_sequence, save_gif
    from headforge.invert.stage import load_prior
    from headforge.invert.views import camera_centres, orbit_w2c

    card = json.loads((avatar / "card.json").read_text()) if (avatar / "card.json").is_file() \
        else None
    if card is None:
        raise typer.BadParameter(f"{avatar} has no card.json: not an avatar bundle", param_hint="AVATAR")
    ctx = Context.load()
    ckpt = ctx.path(prior or card["prior_checkpoint"]["path"])
    model = load_prior(ckpt, ctx.params.head_model, str(ctx.device))
    bundle = load_bundle(avatar, model)
    names, seq = load_sequence(params)
    dev = bundle.avatar.shape.device
    K = torch.from_numpy(bundle.inputs["K"][:1]).float().to(dev)
    w2c_in = torch.from_numpy(bundle.inputs["w2c"]).float()
    radius = float(camera_centres(w2c_in).norm(dim=-1).mean())
    w2c = torch.from_numpy(orbit_w2c(torch.zeros(3).numpy(), radius, 1, 5.0)).float().to(dev)
    h, w = card["resolution"]
    frames = drive(bundle.avatar, seq, K, w2c, (h, w))
    target = out or avatar / f"drive_{params.name}.gif"
    save_gif(frames, target, fps)
    typer.echo(f"{len(frames)} frames ({names[0]} .. {names[-1]}) -> {target}")
