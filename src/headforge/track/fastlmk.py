"""Exact landmarks of a FLAME-format model without skinning the whole mesh.

Landmark fitting needs 68 surface points per frame, i.e. the few hundred vertices of their
triangles, not all of them. Joints are linear in the blend-shape coefficients, so their
regressor is folded into the blend shapes once (``J @ (T + S c) = J T + (J S) c``); only the
landmark triangles' vertices are then blended, pose-corrected and skinned, with the same pure
functions :mod:`headforge.morphable.lbs` uses. The result equals ``model(...).landmarks68``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from headforge.cameras import axis_angle_to_matrix
from headforge.morphable.lbs import blend_shapes, pose_features, rigid_transform

_DIMS = {"rotation": 3, "neck_pose": 3, "jaw_pose": 3, "eyes_pose": 6, "translation": 3}


def supports_fast_landmarks(model: Any) -> bool:
    """True for a :class:`headforge.morphable.MorphableHead` with a 68-point embedding."""
    return getattr(model, "lmk68_faces_idx", None) is not None and hasattr(model, "shapedirs")


class LandmarkModel:
    """``model(...).landmarks68`` [B, 68, 3] at a fraction of the cost (same arguments)."""

    def __init__(self, model: Any) -> None:
        if not supports_fast_landmarks(model):
            raise ValueError("LandmarkModel needs a MorphableHead with a 68-point embedding")
        tri = model.faces[model.lmk68_faces_idx]  # [68, 3]
        used, inv = torch.unique(tri, return_inverse=True)
        self.inv = inv  # [68, 3] into the used vertices
        self.bary = model.lmk68_bary  # [68, 3]
        self.valid = model.lmk68_valid  # [68]
        self.v_template = model.v_template[used]
        self.shapedirs = model.shapedirs[used]
        self.posedirs = model.posedirs[used]
        self.lbs_weights = model.lbs_weights[used]
        self.j_template = model.j_regressor @ model.v_template  # [J, 3]
        self.j_dirs = torch.einsum("jv,vck->jck", model.j_regressor, model.shapedirs)
        self.parents = model.parents
        self.n_shape, self.n_expr = model.n_shape, model.n_expr
        self.n_used = int(len(used))

    def __call__(
        self,
        shape: Tensor,
        expr: Tensor,
        rotation: Tensor,
        neck_pose: Tensor,
        jaw_pose: Tensor,
        eyes_pose: Tensor,
        translation: Tensor,
    ) -> Tensor:
        b = shape.shape[0]
        coeffs = torch.cat([_pad(shape, self.n_shape), _pad(expr, self.n_expr)], 1)
        coeffs = coeffs.to(self.v_template.dtype)
        pose = torch.cat([rotation, neck_pose, jaw_pose, eyes_pose], 1).reshape(b, -1, 3)
        pose = pose.to(self.v_template.dtype)
        shaped = self.v_template[None] + blend_shapes(coeffs, self.shapedirs)  # [B, U, 3]
        joints = self.j_template[None] + blend_shapes(coeffs, self.j_dirs)  # [B, J, 3]
        rot = axis_angle_to_matrix(pose.reshape(-1, 3)).reshape(b, -1, 3, 3)
        corrected = shaped + torch.einsum("bp,vcp->bvc", pose_features(rot), self.posedirs)
        _, transforms = rigid_transform(rot, joints, self.parents)
        per_vertex = torch.einsum("vj,bjxy->bvxy", self.lbs_weights, transforms)
        verts = (per_vertex[..., :3, :3] @ corrected[..., None])[..., 0] + per_vertex[..., :3, 3]
        tri = verts[:, self.inv]  # [B, 68, 3, 3]
        pts = (tri * self.bary[None, :, :, None]).sum(2) + translation[:, None].to(verts.dtype)
        return pts if bool(self.valid.all()) else pts * self.valid[None, :, None].to(pts.dtype)


def _pad(t: Tensor, d: int) -> Tensor:
    return t if t.shape[1] == d else torch.cat([t, t.new_zeros(t.shape[0], d - t.shape[1])], 1)
