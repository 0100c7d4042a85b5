"""A contact sheet of a head model: mean head from three sides, identity and expression samples."""

from __future__ import annotations

import numpy as np
import torch

from headforge.cameras import focal_from_fov, intrinsics, look_at_w2c
from headforge.morphable.appearance import render_textured
from headforge.morphable.meshraster import render_mesh
from headforge.morphable.model import MorphableHead

# Expression showcase: (label, {expression name: coefficient}, jaw opening in radians).
SHOWCASE: tuple[tuple[str, dict[str, float], float], ...] = (
    ("smile", {"smile": 1.0}, 0.0),
    ("jaw open", {}, 0.3),
    ("brow raise + pucker", {"brow_raise": 1.0, "pucker": 1.0}, 0.0),
    ("blink left + frown", {"blink_left": 1.0, "frown": 1.0}, 0.0),
)


def _camera(size: int, yaw_deg: float) -> tuple[np.ndarray, np.ndarray]:
    f = focal_from_fov(22.0, size)
    K = intrinsics(f, f, (size - 1) / 2.0, (size - 1) / 2.0)
    a = np.radians(yaw_deg)
    target = np.array([0.0, -0.005, 0.01])
    eye = target + 0.8 * np.array([np.sin(a), 0.08, np.cos(a)])
    return K, look_at_w2c(eye, target)


def render_head(
    model: MorphableHead, vertices: torch.Tensor, size: int, yaw_deg: float = 0.0
) -> np.ndarray:
    """One [size, size, 3] uint8 picture of posed vertices [V, 3] of ``model``."""
    K, w2c = _camera(size, yaw_deg)
    v = vertices.detach().cpu().double().numpy()
    faces = model.faces.cpu().numpy()
    if model.model_id.startswith("headforge-builtin"):
        rest = model.v_template.cpu().double().numpy()
        lm = model().landmarks68
        mouth_y = float(lm[0, 60:68, 1].mean()) if lm is not None else -0.032
        eyes = model().joints[0, 3:5].detach().cpu().double().numpy()
        r = render_textured(v, rest, faces, model.part_labels.cpu().numpy(), K, w2c, size, size,
                            eyes, mouth_y, background=(1.0, 1.0, 1.0))
    else:
        r = render_mesh(v, faces, K, w2c, size, size)
    return np.round(r.image * 255.0).astype(np.uint8)


def model_sheet(model: MorphableHead, size: int = 256, samples: int = 4, seed: int = 0) -> np.ndarray:
    """Rows: mean head (front, 3/4, profile, back 3/4); identity samples; expressions.

    Identity samples draw ``shape ~ N(0, 1)``. Returns an RGB uint8 image.
    """
    cols = max(samples, 4)
    with torch.no_grad():
        mean = model().vertices[0]
        rows = [[render_head(model, mean, size, yaw) for yaw in (0.0, 35.0, 90.0, 150.0)]]
        g = torch.Generator().manual_seed(seed)
        shapes = torch.randn(samples, model.n_shape, generator=g)
        ids = model(shape=shapes).vertices
        rows.append([render_head(model, ids[i], size, 20.0) for i in range(samples)])
        expr = torch.zeros(len(SHOWCASE), model.n_expr)
        jaw = torch.zeros(len(SHOWCASE), 3)
        names = list(model.expression_names)
        for i, (_, coeffs, jaw_open) in enumerate(SHOWCASE):
            for name, c in coeffs.items():
                if name in names:
                    expr[i, names.index(name)] = c
            jaw[i, 0] = jaw_open
        ex = model(expr=expr, jaw_pose=jaw).vertices
        rows.append([render_head(model, ex[i], size, 20.0) for i in range(len(SHOWCASE))])
    blank = np.full((size, size, 3), 255, np.uint8)
    return np.concatenate(
        [np.concatenate(r + [blank] * (cols - len(r)), axis=1) for r in rows], axis=0
    )
