"""``headforge splat``: render a demo scene, render or inspect a 3DGS PLY, list backends."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

app = typer.Typer(help="3D Gaussian splatting: demo renders, PLY inspection, backends.",
                  no_args_is_help=True)  # fmt: skip


def _orbit(n: int, size: int, radius: float, elevation: float, span: float = 360.0):
    from headforge.splat.scenes import orbit_cameras

    return orbit_cameras(n, size, size, radius=radius, elevation_deg=elevation,
                         azimuth_span_deg=span)  # fmt: skip


@app.command()
def demo(
    out: Path = typer.Option(Path("raster_scene.png"), help="PNG to write (image|alpha|depth)."),
    size: int = typer.Option(256, min=16, help="Image width and height in pixels."),
    views: int = typer.Option(3, min=1, help="Orbit views stacked vertically."),
    backend: str = typer.Option("auto", help="auto | torch | gsplat | reference"),
) -> None:
    """Render the torus-knot test scene from orbiting cameras."""
    import numpy as np
    import torch

    from headforge.splat.demo import panels, save_png, torus_knot_scene
    from headforge.splat.render import rasterize

    g = torus_knot_scene().activated()
    viewmats, Ks = _orbit(views, size, radius=1.6, elevation=25.0, span=150.0)
    t0 = time.perf_counter()
    with torch.no_grad():
        r = rasterize(g.means, g.quats, g.scales, g.opacities, g.sh, viewmats, Ks, size, size,
                      sh_degree=g.sh_degree, background=torch.tensor([0.05, 0.05, 0.08]),
                      backend=backend)  # type: ignore[arg-type]  # fmt: skip
    dt = time.perf_counter() - t0
    save_png(out, np.concatenate([panels(r, c) for c in range(views)], axis=0))
    typer.echo(f"wrote {out} ({views} views of {g.means.shape[0]} Gaussians, "
               f"{r.meta['backend']} backend, {1000 * dt:.0f} ms)")  # fmt: skip


@app.command()
def head(
    out: Path = typer.Option(Path("raster_head.png"), help="PNG to write."),
    size: int = typer.Option(256, min=16, help="Pixels per view."),
    face_stride: int = typer.Option(1, min=1, help="Bind to every k-th triangle only."),
    backend: str = typer.Option("auto", help="auto | torch | gsplat"),
) -> None:
    """Gaussians bound to the head model's triangles, in three poses and two views."""
    from headforge.splat.demo import head_picture, save_png

    t0 = time.perf_counter()
    save_png(out, head_picture(size, face_stride, backend))
    typer.echo(f"wrote {out} ({time.perf_counter() - t0:.1f} s)")


@app.command()
def info(path: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Summarise a 3DGS PLY: count, SH degree, bounds, activated scale/opacity ranges."""
    from headforge.splat.ply import read_ply

    p = read_ply(path)
    a = p.activated()
    q = [0.0, 0.5, 1.0]

    def qs(t) -> list[float]:
        import torch

        return [round(float(v), 5) for v in torch.quantile(t.flatten().double(), torch.tensor(q,
                dtype=torch.float64))]  # fmt: skip

    summary = {
        "path": str(path),
        "gaussians": p.n,
        "sh_degree": p.sh_degree,
        "bounds_min": [round(float(v), 4) for v in p.means.min(0).values],
        "bounds_max": [round(float(v), 4) for v in p.means.max(0).values],
        "scale_min_median_max": qs(a.scales),
        "opacity_min_median_max": qs(a.opacities),
    }
    typer.echo(json.dumps(summary, indent=2))


@app.command()
def render(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="3DGS PLY to render."),
    out: Path = typer.Option(Path("render.png"), help="PNG to write (image|alpha|depth)."),
    size: int = typer.Option(256, min=16),
    radius: float = typer.Option(0.0, help="Camera distance; 0 frames the bounding sphere."),
    backend: str = typer.Option("auto"),
) -> None:
    """Render a PLY from the front (+z looking back at the centre), FLAME-style coordinates."""
    import numpy as np
    import torch

    from headforge.splat.demo import panels, save_png
    from headforge.splat.ply import read_ply
    from headforge.splat.render import rasterize
    from headforge.splat.scenes import orbit_cameras

    g = read_ply(path).activated()
    centre = g.means.mean(0)
    extent = float((g.means - centre).norm(dim=-1).quantile(0.98))
    dist = radius if radius > 0 else 3.0 * max(extent, 1e-3)
    target = (float(centre[0]), float(centre[1]), float(centre[2]))
    viewmats, Ks = orbit_cameras(1, size, size, radius=dist, elevation_deg=0.0, target=target)
    with torch.no_grad():
        r = rasterize(g.means, g.quats, g.scales, g.opacities, g.sh, viewmats, Ks, size, size,
                      sh_degree=g.sh_degree, backend=backend)  # type: ignore[arg-type]  # fmt: skip
    save_png(out, np.asarray(panels(r)))
    typer.echo(f"wrote {out}")


@app.command()
def backends() -> None:
    """Show which optional rendering backends are usable here, and why not."""
    from headforge import backends as b

    for name in ("cuda", "gsplat"):
        st = b.status(name)
        mark = "yes" if st.available else "no "
        typer.echo(f"{name:8s} {mark} {st.version or '-':10s} {st.detail}")
