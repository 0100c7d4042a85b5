"""``headforge model ...``: look at, export and calibrate the head model."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="The FLAME-format head model (built-in open model or a FLAME file).",
                  no_args_is_help=True)


def _config():  # noqa: ANN202
    from headforge.config import ConfigError, HeadModelConfig
    from headforge.context import Context

    try:
        return Context.load().params.head_model
    except ConfigError as e:
        if "params.yaml not found" in str(e):
            return HeadModelConfig()
        raise


@app.command()
def info() -> None:
    """Print the configured model's sizes, parts and landmark conventions as JSON."""
    import numpy as np

    from headforge.morphable import PART_NAMES, load_head_model

    m = load_head_model(_config())
    counts = np.bincount(m.part_labels.numpy(), minlength=len(PART_NAMES))
    out = m()
    typer.echo(json.dumps({
        "model_id": m.model_id, "vertices": m.n_vertices, "faces": int(m.faces.shape[0]),
        "n_shape": m.n_shape, "n_expr": m.n_expr, "uvs": m.uvs is not None,
        "parts": dict(zip(PART_NAMES, counts.tolist(), strict=True)),
        "landmarks68": out.landmarks68 is not None, "landmarks478": out.landmarks478 is not None,
        "expressions": list(m.expression_names),
    }, indent=2))


@app.command()
def show(
    out: Path = typer.Option(Path("model.png"), help="PNG to write."),
    size: int = typer.Option(256, min=64, help="Pixels per panel."),
    samples: int = typer.Option(4, min=1, max=8, help="Identity samples to draw."),
    seed: int = typer.Option(0, help="Seed of the identity samples."),
) -> None:
    """Render the mean head and identity/expression samples to a PNG."""
    from PIL import Image

    from headforge.io_utils import atomic_path
    from headforge.morphable import load_head_model
    from headforge.morphable.picture import model_sheet

    sheet = model_sheet(load_head_model(_config()), size=size, samples=samples, seed=seed)
    with atomic_path(out) as tmp:
        Image.fromarray(sheet).save(tmp, format="PNG")
    typer.echo(f"wrote {out} ({sheet.shape[1]}x{sheet.shape[0]})")


@app.command()
def export(
    out: Path = typer.Option(Path("builtin_flame.npz"), help=".npz (no pickle) or .pkl file."),
) -> None:
    """Write the built-in model in FLAME file layout (loadable as head_model.flame_path)."""
    from headforge.morphable.builtin import build_builtin
    from headforge.morphable.io import save_flame

    d = build_builtin()
    save_flame(out, d)
    typer.echo(f"wrote {out}: {len(d['v_template'])} vertices, {len(d['f'])} faces")


@app.command("calibrate-mediapipe")
def calibrate_mediapipe(
    out: Path | None = typer.Option(None, help="Where to write (default: inside the package)."),
    check: bool = typer.Option(False, help="Only compare with the committed file; exit 1 if "
                               "a point moved by more than 0.2 mm."),
) -> None:
    """Run MediaPipe FaceMesh on a render of the built-in head and embed its 478 points."""
    from headforge.morphable import mediapipe_calib as mc
    from headforge.morphable.builtin import read_mediapipe_data

    data = mc.calibrate()
    if data is None:
        typer.echo("MediaPipe found no face in the render of the built-in head; "
                   "landmarks478 stays unavailable", err=True)
        raise typer.Exit(1)
    if check:
        old = read_mediapipe_data()
        same = old is not None and old["fingerprint"] == data["fingerprint"] \
            and mc.embedding_shift(old, data) < 2e-4
        typer.echo("committed MediaPipe embedding is up to date" if same else
                   "committed MediaPipe embedding differs: run `headforge model "
                   "calibrate-mediapipe`")
        raise typer.Exit(0 if same else 1)
    path = mc.write_calibration(data, out)
    typer.echo(f"wrote {path} (478 points)")
