"""3D Gaussians: parameters, triangle binding, PLY I/O and differentiable rasterization.

Main entry points::

    from headforge.splat import rasterize, GaussianParams, read_ply, write_ply
    out = rasterize(means, quats, scales, opacities, colors, viewmats, Ks, W, H)
"""

from headforge.splat.gaussians import (
    BoundGaussians,
    GaussianParams,
    TriangleFrames,
    bind_to_triangles,
    triangle_frames,
)
from headforge.splat.ply import read_ply, write_ply
from headforge.splat.render import RenderOutput, rasterize, render_kwargs

__all__ = [
    "BoundGaussians",
    "GaussianParams",
    "RenderOutput",
    "TriangleFrames",
    "bind_to_triangles",
    "rasterize",
    "read_ply",
    "render_kwargs",
    "triangle_frames",
    "write_ply",
]
