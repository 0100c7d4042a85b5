"""Export formats: one registry that the ``headforge export`` command and its help read.

Adding a format is one writer ``(job, out_dir) -> written paths`` plus one line in
:data:`FORMATS`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the registry is read by `headforge --help`: no torch at import time
    import torch

    from headforge.export.job import ExportJob

WEB_DIST = Path(__file__).parent / "web_dist"
"""The built viewer (``index.html``, ``viewer.js``), made from ``web/`` by ``make web``."""


@dataclass(frozen=True)
class ExportFormat:
    name: str
    help: str
    write: Callable[[ExportJob, Path], list[Path]]


def write_frame_ply(job: ExportJob, params: dict[str, torch.Tensor], path: Path) -> Path:
    """The baked avatar at ``params`` ([1, D]) as a standard 3DGS PLY."""
    import torch

    from headforge.export.bake import baked_gaussians
    from headforge.splat.gaussians import GaussianParams
    from headforge.splat.ply import write_ply

    with torch.no_grad():
        g = baked_gaussians(job.baked, params)
    c = g.colors[0]
    sh, rgb = (c, None) if c.dim() == 3 else (None, c)
    return write_ply(path, GaussianParams.from_activated(g.means[0], g.quats[0], g.scales[0],
                                                         g.opacities[0], rgb=rgb, sh=sh))


def _ply(job: ExportJob, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    return [write_frame_ply(job, job.static(), out / "avatar.ply")]


def _plyseq(job: ExportJob, out: Path) -> list[Path]:
    from headforge.export.package import write_animation

    folder = out / "frames"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [write_frame_ply(job, job.frame(i), folder / f"frame_{i:06d}.ply")
             for i in range(len(job.names))]
    return paths + [write_animation(out / "animation.json", job.names, job.sequence, job.fps)]


def _gltf(job: ExportJob, out: Path) -> list[Path]:
    from headforge.export.gltf import write_glb
    from headforge.export.package import write_animation, write_package

    out.mkdir(parents=True, exist_ok=True)
    glb = write_glb(job.baked, out / "head.glb", (job.sequence, job.fps))
    return [glb, *write_package(job.baked, out, job.camera),
            write_animation(out / "animation.json", job.names, job.sequence, job.fps)]


def viewer_files() -> list[Path]:
    """The built viewer's files; a clear error when it was not built."""
    files = [WEB_DIST / "index.html", WEB_DIST / "viewer.js"]
    missing = [p.name for p in files if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"the web viewer is not built ({', '.join(missing)} missing in "
                                f"{WEB_DIST}): run `make web` (needs Node and npm)")
    return files


def _web(job: ExportJob, out: Path) -> list[Path]:
    from headforge.export.package import write_animation, write_package

    files = viewer_files()
    out.mkdir(parents=True, exist_ok=True)
    written = [*write_package(job.baked, out, job.camera),
               write_animation(out / "animation.json", job.names, job.sequence, job.fps)]
    for f in files:
        shutil.copyfile(f, out / f.name)
        written.append(out / f.name)
    return written


FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("ply", "static 3DGS PLY (avatar.ply) at the neutral expression or --frame",
                 _ply),
    ExportFormat("plyseq", "one 3DGS PLY per frame of the animation (frames/*.ply)", _plyseq),
    ExportFormat("gltf", "skinned head (head.glb, morph targets) + baked Gaussians "
                 "(avatar.json/.bin) + animation.json", _gltf),
    ExportFormat("web", "self-contained viewer folder (index.html, serve it over http)", _web),
)}
