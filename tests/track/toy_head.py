"""A small FLAME-format stand-in head for testing the fitting machinery on its own.

Same call signature and outputs as the project's head model (metres, +y up, facing +z):
an ellipsoid with smooth random identity/expression bases, a jaw that opens about a hinge,
eyes and neck poses, and 68 landmark vertices on the front.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import Tensor

from headforge.cameras import axis_angle_to_matrix


@dataclasses.dataclass
class ToyOutput:
    vertices: Tensor  # [B, V, 3]
    landmarks68: Tensor  # [B, 68, 3]
    landmarks478: Tensor | None = None


class ToyHead:
    def __init__(self, n_shape: int = 12, n_expr: int = 6, seed: int = 0) -> None:
        g = np.random.default_rng(seed)
        u = g.uniform(0, 1, 1200)
        phi = np.arccos(1 - 2 * u)
        th = g.uniform(0, 2 * np.pi, 1200)
        d = np.stack([np.sin(phi) * np.cos(th), np.cos(phi), np.sin(phi) * np.sin(th)], 1)
        self.template = torch.tensor(d * [0.075, 0.11, 0.095], dtype=torch.float32)
        self.n_shape, self.n_expr = n_shape, n_expr

        def smooth_basis(k: int, scale: float, weight: np.ndarray) -> Tensor:
            freqs = g.normal(0, 8, (k, 3, 3))
            phase = g.uniform(0, 2 * np.pi, (k, 3))
            x = self.template.numpy()
            b = np.sin(np.einsum("vd,kcd->vck", x, freqs) + phase.T[None]) * scale
            return torch.tensor(b * weight[:, None, None], dtype=torch.float32)

        ones = np.ones(len(d))
        lower = np.clip(0.5 - d[:, 1] * 2, 0, 1) * (d[:, 2] > 0)
        self.shapedirs = smooth_basis(n_shape, 0.004, ones)
        self.exprdirs = smooth_basis(n_expr, 0.004, lower)
        front = np.nonzero(d[:, 2] > 0.35)[0]
        self.lm_idx = torch.tensor(g.choice(front, 68, replace=False))
        self.jaw_w = torch.tensor(np.clip(-d[:, 1] * 3, 0, 1), dtype=torch.float32)
        self.jaw_pivot = torch.tensor([0.0, -0.01, -0.02])
        self.faces = torch.zeros(0, 3, dtype=torch.long)
        self.face_mask = torch.tensor(d[:, 2] > 0.2)

    def __call__(
        self,
        shape: Tensor,
        expr: Tensor,
        rotation: Tensor,
        neck_pose: Tensor,
        jaw_pose: Tensor,
        eyes_pose: Tensor,
        translation: Tensor,
    ) -> ToyOutput:
        v = (
            self.template[None]
            + torch.einsum("bk,vck->bvc", shape, self.shapedirs)
            + torch.einsum("bk,vck->bvc", expr, self.exprdirs)
        )
        rj = axis_angle_to_matrix(jaw_pose)  # [B, 3, 3]
        opened = (v - self.jaw_pivot) @ rj.transpose(1, 2) + self.jaw_pivot
        w = self.jaw_w[None, :, None]
        v = w * opened + (1 - w) * v
        R = axis_angle_to_matrix(rotation) @ axis_angle_to_matrix(neck_pose)
        v = v @ R.transpose(1, 2) + translation[:, None]
        return ToyOutput(vertices=v, landmarks68=v[:, self.lm_idx])
