"""``headforge prior``: train the UV-space Gaussian head prior (the ``train_prior`` stage)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="UV-space Gaussian head prior (train_prior stage).", no_args_is_help=True)


@app.command("train")
def train_cmd(
    steps: int = typer.Option(None, help="Override train_prior.steps."),
    manifest: Path = typer.Option(None, help="Synthetic manifest (default data/synth)."),
    adapt: list[str] = typer.Option(
        [], help="Also adapt to these real subjects (adapt_prior.steps > 0; no consent check: "
             "the adapt_prior stage checks train_prior consent)."),
) -> None:
    """Train (or resume) the base prior on synthetic identities; optionally adapt it.

    Multi-GPU: ``torchrun --standalone --nproc_per_node=N -m headforge.cli prior train``
    (one process per GPU, DistributedDataParallel; rank 0 writes the files).
    """
    import os

    from headforge.context import Context
    from headforge.prior.adapt import train_adapted
    from headforge.prior.entry import train_prior
    from headforge.prior.progress import TrainProgress
    from headforge.progress import ProgressBoard

    ctx = Context.load(overrides={"train_prior": {"steps": steps}} if steps is not None else None)
    cfg = ctx.params.train_prior
    rank0 = os.environ.get("RANK", "0") == "0"  # under torchrun only rank 0 shows progress
    with ProgressBoard(mode=None if rank0 else "off") as board:
        bar = TrainProgress(board.add("train_prior base", cfg.steps, "steps"))
        res = train_prior(ctx, callbacks=[bar], manifest=manifest)
    if rank0:
        typer.echo(json.dumps({"checkpoint": str(res.checkpoint), "steps": res.steps,
                               "resumed_from": res.resumed_from,
                               "final_loss": res.history[-1]["loss"]}))
    if adapt:
        adapt_cfg = ctx.params.adapt_prior
        with ProgressBoard(mode=None if rank0 else "off") as board:
            bar = TrainProgress(board.add("adapt_prior", adapt_cfg.steps, "steps"))
            ad = train_adapted(cfg, adapt_cfg, ctx.params.head_model, adapt, ctx.root,
                               callbacks=[bar])
        if not rank0:
            return
        typer.echo("adaptation skipped (adapt_prior.steps is 0 or no tracked frames)" if ad is None
                   else json.dumps({"adapted": str(ad.checkpoint), "steps": ad.steps}))
