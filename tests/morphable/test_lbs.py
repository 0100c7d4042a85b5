"""Linear blend skinning against hand-computed values."""

from __future__ import annotations

import math

import torch

from headforge.cameras import axis_angle_to_matrix as rodrigues
from headforge.morphable.lbs import barycentric_points, lbs, pose_features

D = torch.float64


def _chain() -> dict[str, torch.Tensor]:
    """Two joints: root at the origin, child at (1, 0, 0); three vertices."""
    v = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0]], dtype=D)
    return dict(
        v_template=v,
        shapedirs=torch.zeros(3, 3, 1, dtype=D),
        posedirs=torch.zeros(3, 3, 9, dtype=D),
        j_regressor=torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=D),
        parents=torch.tensor([-1, 0]),
        lbs_weights=torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], dtype=D),
    )


def test_rodrigues_matches_closed_form() -> None:
    r = rodrigues(torch.tensor([[0.0, 0.0, math.pi / 2], [0.0, 0.0, 0.0]], dtype=D))
    expect = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=D)
    torch.testing.assert_close(r[0], expect)
    torch.testing.assert_close(r[1], torch.eye(3, dtype=D))
    axis = torch.tensor([[1.0, 2.0, -0.5]], dtype=D)
    axis = axis / axis.norm() * 0.7
    rr = rodrigues(axis)[0]
    torch.testing.assert_close(rr @ rr.T, torch.eye(3, dtype=D))
    torch.testing.assert_close(torch.linalg.det(rr), torch.tensor(1.0, dtype=D))
    torch.testing.assert_close(rr @ axis[0], axis[0])  # the axis is fixed


def test_rodrigues_gradient_at_identity_is_the_cross_product() -> None:
    r = torch.zeros(1, 3, dtype=D, requires_grad=True)
    p = torch.tensor([0.3, -0.2, 0.5], dtype=D)
    (rodrigues(r)[0] @ p).sum().backward()
    # d(R p)/dr at 0 = -skew(p); summed over rows: -(sum of skew(p) rows) = p x (1,1,1).
    torch.testing.assert_close(r.grad[0], torch.linalg.cross(p, torch.ones(3, dtype=D)))


def test_lbs_hand_computed_chain() -> None:
    c = _chain()
    # Child joint rotated 90 degrees about z.
    pose = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 0.0, math.pi / 2]]], dtype=D)
    out = lbs(torch.zeros(1, 1, dtype=D), pose, **c)
    # v0 on the root: fixed. v1 is the child joint itself: fixed. v2 (2,0,0) rotated about
    # (1,0,0) lands on (1,1,0) for the child; half/half blend gives (1.5, 0.5, 0).
    expect = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.5, 0.5, 0.0]], dtype=D)
    torch.testing.assert_close(out.vertices[0], expect)
    torch.testing.assert_close(out.joints[0], torch.tensor([[0.0, 0, 0], [1.0, 0, 0]], dtype=D))
    # Root rotated 90 degrees about z: everything turns rigidly.
    pose = torch.tensor([[[0.0, 0.0, math.pi / 2], [0.0, 0.0, 0.0]]], dtype=D)
    out = lbs(torch.zeros(1, 1, dtype=D), pose, **c)
    expect = torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 2.0, 0.0]], dtype=D)
    torch.testing.assert_close(out.vertices[0], expect)
    torch.testing.assert_close(out.joints[0, 1], torch.tensor([0.0, 1.0, 0.0], dtype=D))


def test_blend_shapes_move_joints_and_correctives_follow_the_pose_feature() -> None:
    c = _chain()
    c["shapedirs"] = torch.zeros(3, 3, 1, dtype=D)
    c["shapedirs"][:, 1, 0] = 1.0  # one shape coefficient lifts everything in y
    c["posedirs"][2, 0, 3] = 0.1  # x offset of v2 driven by (R1 - I)[1, 0]
    pose = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 0.0, math.pi / 2]]], dtype=D)
    out = lbs(torch.tensor([[0.25]], dtype=D), pose, **c)
    feat = pose_features(rodrigues(pose.reshape(-1, 3)).reshape(1, 2, 3, 3))
    assert feat.shape == (1, 9) and abs(float(feat[0, 3]) - 1.0) < 1e-12
    torch.testing.assert_close(out.joints[0, 1], torch.tensor([1.0, 0.25, 0.0], dtype=D))
    # v2 rest (2.1, 0.25, 0) after the corrective; child rotates it about (1, .25, 0) to
    # (1, 1.35, 0); blended with the unrotated root copy (2.1, .25, 0) -> (1.55, 0.8, 0).
    torch.testing.assert_close(out.vertices[0, 2], torch.tensor([1.55, 0.8, 0.0], dtype=D))


def test_barycentric_points() -> None:
    v = torch.tensor([[[0.0, 0, 0], [1.0, 0, 0], [0.0, 1, 0]]], dtype=D)
    f = torch.tensor([[0, 1, 2]])
    p = barycentric_points(v, f, torch.tensor([0, 0]),
                           torch.tensor([[1 / 3, 1 / 3, 1 / 3], [0.0, 0.5, 0.5]], dtype=D))
    torch.testing.assert_close(p[0], torch.tensor([[1 / 3, 1 / 3, 0], [0.5, 0.5, 0]], dtype=D))
