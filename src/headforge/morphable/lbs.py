"""Linear blend skinning for a FLAME-format head: pure, batched, differentiable functions.

Conventions (the FLAME file layout):

* ``shapedirs`` [V, 3, K]: linear blend shapes (identity and expression columns side by side).
* ``posedirs`` [V, 3, P] with ``P = 9 * (J - 1)``: pose correctives driven by the flattened
  ``R_j - I`` of every joint but the root, joint-major, row-major within a joint.
* ``J_regressor`` [J, V]: joints as linear combinations of the shaped (unposed) vertices.
* ``lbs_weights`` [V, J]: skinning weights; ``parents`` [J] with ``parents[0] == -1`` and every
  parent listed before its children.
* Poses are axis-angle vectors [B, J, 3] (radians, right-handed).

Nothing here owns state: :class:`headforge.morphable.model.MorphableHead` holds the buffers and
calls :func:`lbs`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from headforge.cameras import axis_angle_to_matrix


@dataclass(frozen=True)
class LBSResult:
    """Output of :func:`lbs`."""

    vertices: Tensor  # [B, V, 3] posed vertices
    joints: Tensor  # [B, J, 3] posed joint locations
    shaped: Tensor  # [B, V, 3] vertices after blend shapes, before pose correctives/skinning
    transforms: Tensor  # [B, J, 4, 4] skinning transforms (rest joint -> posed), per joint


def blend_shapes(coeffs: Tensor, dirs: Tensor) -> Tensor:
    """Linear blend shape offsets.

    coeffs [B, K], dirs [V, 3, K] -> [B, V, 3].
    """
    n_v, _, k = dirs.shape
    return (coeffs @ dirs.reshape(n_v * 3, k).T).reshape(coeffs.shape[0], n_v, 3)


def vertices2joints(j_regressor: Tensor, vertices: Tensor) -> Tensor:
    """Joint locations regressed from vertices: [J, V] x [B, V, 3] -> [B, J, 3]."""
    return torch.matmul(j_regressor, vertices)


def rigid_transform(rot_mats: Tensor, joints: Tensor, parents: Tensor) -> tuple[Tensor, Tensor]:
    """Forward kinematics over a kinematic tree.

    rot_mats [B, J, 3, 3] (local rotations), joints [B, J, 3] (rest joint locations),
    parents [J] (``parents[0] == -1``, parents before children).
    Returns posed joints [B, J, 3] and skinning transforms [B, J, 4, 4] that map a rest-pose
    point skinned to joint j to its posed location.
    """
    b, n_j = joints.shape[:2]
    rel = joints.clone()
    rel[:, 1:] = joints[:, 1:] - joints[:, parents[1:]]
    local = torch.zeros(b, n_j, 4, 4, dtype=joints.dtype, device=joints.device)
    local[..., :3, :3] = rot_mats
    local[..., :3, 3] = rel
    local[..., 3, 3] = 1.0
    chain = [local[:, 0]]
    for j in range(1, n_j):
        chain.append(chain[int(parents[j])] @ local[:, j])
    world = torch.stack(chain, dim=1)  # [B, J, 4, 4]
    posed_joints = world[..., :3, 3]
    # Remove the rest joint location: T_j = world_j @ translate(-joint_j).
    offset = world[..., :3, :3] @ joints[..., None]  # [B, J, 3, 1]
    transforms = world.clone()
    transforms[..., :3, 3] = world[..., :3, 3] - offset[..., 0]
    return posed_joints, transforms


def pose_features(rot_mats: Tensor) -> Tensor:
    """Pose-corrective features ``R_j - I`` for every non-root joint: [B, J, 3, 3] -> [B, 9(J-1)]."""
    eye = torch.eye(3, dtype=rot_mats.dtype, device=rot_mats.device)
    return (rot_mats[:, 1:] - eye).reshape(rot_mats.shape[0], -1)


def lbs(
    coeffs: Tensor,  # [B, K] identity and expression coefficients, in shapedirs column order
    pose: Tensor,  # [B, J, 3] axis-angle per joint
    v_template: Tensor,  # [V, 3]
    shapedirs: Tensor,  # [V, 3, K]
    posedirs: Tensor,  # [V, 3, 9(J-1)]
    j_regressor: Tensor,  # [J, V]
    parents: Tensor,  # [J] long
    lbs_weights: Tensor,  # [V, J]
) -> LBSResult:
    """Shape, pose-correct and skin a batch of heads (FLAME/SMPL-style linear blend skinning)."""
    b = coeffs.shape[0]
    n_j = j_regressor.shape[0]
    if pose.shape != (b, n_j, 3):
        raise ValueError(f"pose must be [B={b}, J={n_j}, 3], got {list(pose.shape)}")
    shaped = v_template[None] + blend_shapes(coeffs, shapedirs)  # [B, V, 3]
    joints = vertices2joints(j_regressor, shaped)  # [B, J, 3]
    rot_mats = axis_angle_to_matrix(pose.reshape(-1, 3)).reshape(b, n_j, 3, 3)
    corrected = shaped + blend_shapes(pose_features(rot_mats), posedirs)
    posed_joints, transforms = rigid_transform(rot_mats, joints, parents)
    # Blend the joints' transforms per vertex: [V, J] @ [B, J, 16] -> [B, V, 4, 4].
    per_vertex = torch.matmul(lbs_weights, transforms.reshape(b, n_j, 16)).reshape(b, -1, 4, 4)
    verts = (per_vertex[..., :3, :3] * corrected[:, :, None, :]).sum(-1) + per_vertex[..., :3, 3]
    return LBSResult(vertices=verts, joints=posed_joints, shaped=shaped, transforms=transforms)


def barycentric_points(
    vertices: Tensor,  # [B, V, 3]
    faces: Tensor,  # [F, 3] long
    face_idx: Tensor,  # [L] long
    bary: Tensor,  # [L, 3]
) -> Tensor:
    """Surface points given as triangles + barycentric coordinates: -> [B, L, 3]."""
    tri = vertices[:, faces[face_idx]]  # [B, L, 3, 3]
    return (tri * bary[None, :, :, None].to(vertices.dtype)).sum(2)
