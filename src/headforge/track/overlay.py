"""QA overlays: the fitted mesh and the landmarks (detected: green dots, fitted: red crosses)
drawn over the frame, or over a neutral grey background when the picture may be shared (frames
of real people never leave the results folder)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

from headforge.morphable.meshraster import overlay, render_mesh

Background = Literal["image", "neutral"]
NEUTRAL = (0.55, 0.55, 0.55)


def draw_overlay(
    vertices: np.ndarray,  # [V, 3] fitted mesh, world
    faces: np.ndarray,  # [F, 3]
    K: np.ndarray,  # [3, 3]  # noqa: N803
    w2c: np.ndarray,  # [4, 4]
    width: int,
    height: int,
    detected: np.ndarray | None = None,  # [68, 2]
    fitted: np.ndarray | None = None,  # [68, 2]
    image: np.ndarray | None = None,  # [H, W, 3] uint8; None -> neutral background
    mesh_alpha: float = 0.45,
) -> np.ndarray:
    """-> [H, W, 3] uint8 picture of the fit."""
    render = render_mesh(vertices, faces, K, w2c, width, height, background=NEUTRAL)
    if image is None:
        pic = render.image
    else:
        pic = overlay(image, render, alpha=mesh_alpha)
    out = Image.fromarray(np.clip(np.rint(pic * 255.0), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(out)
    r = max(1.0, width / 256.0)
    if detected is not None:
        for x, y in detected:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(40, 220, 60))
    if fitted is not None:
        for x, y in fitted:
            draw.line([x - 1.5 * r, y, x + 1.5 * r, y], fill=(230, 40, 40), width=1)
            draw.line([x, y - 1.5 * r, x, y + 1.5 * r], fill=(230, 40, 40), width=1)
    return np.asarray(out)


def sample_indices(n: int, k: int) -> list[int]:
    """``k`` evenly spread indices of ``n`` items (all when n <= k)."""
    if n <= k:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, k)})
