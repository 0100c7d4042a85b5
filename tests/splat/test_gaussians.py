"""Raw parameters, activations, and triangle binding (GaussianAvatars-style)."""

from __future__ import annotations

import math

import pytest
import torch

from headforge.splat.gaussians import (
    GaussianParams,
    bind_to_triangles,
    rgb_to_sh_dc,
    sh_dc_to_rgb,
    triangle_frames,
)
from headforge.splat.projection import quat_to_rotmat, rotmat_to_quat


def _mesh(seed: int = 0):
    """A small random closed-ish mesh: an octahedron with jittered vertices."""
    g = torch.Generator().manual_seed(seed)
    v = torch.tensor([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1.0]],
                     dtype=torch.float64)  # fmt: skip
    v = v + 0.1 * torch.randn(6, 3, generator=g, dtype=torch.float64)
    f = torch.tensor([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4],
                      [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]])  # fmt: skip
    return v, f


def _random_rotation(seed: int) -> torch.Tensor:
    q = torch.randn(4, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return quat_to_rotmat(q)


def test_frames_are_right_handed_orthonormal():
    v, f = _mesh()
    fr = triangle_frames(torch.stack([v, v * 2.0]), f)
    assert fr.R.shape == (2, 8, 3, 3) and fr.centre.shape == (2, 8, 3) and fr.scale.shape == (2, 8)
    eye = torch.eye(3, dtype=torch.float64)
    torch.testing.assert_close(fr.R.transpose(-1, -2) @ fr.R, eye.expand(2, 8, 3, 3))
    torch.testing.assert_close(torch.linalg.det(fr.R), torch.ones(2, 8, dtype=torch.float64))
    # the third column is the face normal, pointing outwards on this mesh
    assert ((fr.R[..., 2] * fr.centre).sum(-1) > 0).all()
    torch.testing.assert_close(fr.scale[1], 2 * fr.scale[0])


def test_rotmat_quat_round_trip():
    R = torch.stack([_random_rotation(s) for s in range(50)])
    R = torch.cat([R, torch.diag_embed(torch.tensor([[1, -1, -1.0], [-1, 1, -1], [-1, -1, 1]],
                                                    dtype=torch.float64))])  # 180 deg turns
    torch.testing.assert_close(quat_to_rotmat(rotmat_to_quat(R)), R)


def test_gaussians_follow_a_rotated_mesh():
    v, f = _mesh(1)
    g = torch.Generator().manual_seed(3)
    n = 20
    face_ids = torch.randint(0, 8, (n,), generator=g)
    bary = torch.rand(n, 3, generator=g, dtype=torch.float64)
    bary = bary / bary.sum(-1, keepdim=True)
    offset = 0.3 * torch.randn(n, 3, generator=g, dtype=torch.float64)
    lq = torch.randn(n, 4, generator=g, dtype=torch.float64)
    ls = torch.randn(n, 3, generator=g, dtype=torch.float64) - 1
    Q, t = _random_rotation(7), torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64)
    posed = torch.stack([v, v @ Q.T + t])
    b = bind_to_triangles(face_ids, bary, offset, lq, ls, triangle_frames(posed, f))
    torch.testing.assert_close(b.means[1], b.means[0] @ Q.T + t)
    torch.testing.assert_close(quat_to_rotmat(b.quats[1]), Q @ quat_to_rotmat(b.quats[0]))
    torch.testing.assert_close(b.scales[1], b.scales[0])
    # zero offset and the centroid anchor put the Gaussian at the triangle centre
    c = bind_to_triangles(face_ids, torch.full((n, 3), 1 / 3, dtype=torch.float64),
                          torch.zeros(n, 3, dtype=torch.float64), lq, ls,
                          triangle_frames(posed, f))  # fmt: skip
    torch.testing.assert_close(c.means, triangle_frames(posed, f).centre[:, face_ids])


def test_binding_is_differentiable_and_batched_locals():
    v, f = _mesh(2)
    verts = v[None].clone().requires_grad_()
    offset = torch.zeros(2, 3, 3, dtype=torch.float64, requires_grad=True)  # [B, N, 3]
    b = bind_to_triangles(torch.tensor([0, 3, 5]), torch.full((3, 3), 1 / 3, dtype=torch.float64),
                          offset, torch.tensor([[1.0, 0, 0, 0]], dtype=torch.float64).expand(3, 4),
                          torch.zeros(3, 3, dtype=torch.float64),
                          triangle_frames(verts.expand(2, 6, 3), f))  # fmt: skip
    assert b.means.shape == (2, 3, 3)
    (b.means.sum() + b.quats.sum() + b.scales.sum()).backward()
    assert torch.isfinite(verts.grad).all() and verts.grad.abs().sum() > 0
    assert offset.grad.abs().sum() > 0


def test_params_activation_and_validation():
    rgb = torch.tensor([[0.2, 0.5, 0.9]])
    p = GaussianParams.from_activated(torch.zeros(1, 3), torch.tensor([[2.0, 0, 0, 0]]),
                                      torch.full((1, 3), 0.05), torch.tensor([0.7]), rgb=rgb,
                                      sh_degree=2)  # fmt: skip
    a = p.activated()
    torch.testing.assert_close(a.scales, torch.full((1, 3), 0.05))
    torch.testing.assert_close(a.opacities, torch.tensor([0.7]))
    torch.testing.assert_close(a.quats, torch.tensor([[1.0, 0, 0, 0]]))
    torch.testing.assert_close(sh_dc_to_rgb(a.sh[:, 0]), rgb)
    torch.testing.assert_close(rgb_to_sh_dc(rgb), a.sh[:, 0])
    assert p.sh_degree == 2 and p.n == 1
    with pytest.raises(ValueError, match="log_scales"):
        GaussianParams(torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(3, 3), torch.zeros(2),
                       torch.zeros(2, 1, 3))  # fmt: skip
    with pytest.raises(ValueError, match="degree"):
        GaussianParams(torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(2, 3), torch.zeros(2),
                       torch.zeros(2, 5, 3))  # fmt: skip
    assert math.isclose(float(GaussianParams.from_activated(
        torch.zeros(1, 3), torch.ones(1, 4), torch.ones(1, 3), torch.tensor([0.5])
    ).logit_opacities), 0.0, abs_tol=1e-7)  # fmt: skip


def test_degenerate_triangles_get_finite_orthonormal_frames():
    v = torch.tensor([[0, 0, 0], [0, 0, 0], [1, 0, 0], [2, 0, 0], [0, 1, 0.0]],
                     dtype=torch.float64, requires_grad=True)  # fmt: skip
    f = torch.tensor([[0, 1, 2], [0, 2, 3], [0, 0, 0], [0, 2, 4]])  # collapsed, collinear, point
    fr = triangle_frames(v, f)
    eye = torch.eye(3, dtype=torch.float64).expand(1, 4, 3, 3)
    torch.testing.assert_close(fr.R.transpose(-1, -2) @ fr.R, eye)
    torch.testing.assert_close(torch.linalg.det(fr.R), torch.ones(1, 4, dtype=torch.float64))
    assert (fr.scale[0, :3] <= 2.0).all() and fr.scale[0, 2] == 0
    torch.testing.assert_close(fr.scale[0, 3], torch.tensor(1.0, dtype=torch.float64))
    (fr.R.sum() + fr.scale.sum()).backward()
    assert torch.isfinite(v.grad).all()


def test_binding_on_the_head_model_follows_expressions():
    morphable = pytest.importorskip("headforge.morphable")
    from headforge.splat.demo import head_bound_scene, head_poses

    model = morphable.load_head_model()
    fid, bary, rgb, log_scales = head_bound_scene(model, face_stride=50)
    assert rgb.shape == (fid.shape[0], 3) and (rgb >= 0).all() and (rgb <= 1).all()
    n = fid.shape[0]
    for pose in head_poses(model, model.n_expr).values():
        with torch.no_grad():
            verts = model(**pose).vertices.float()
        fr = triangle_frames(verts, model.faces)
        eye = torch.eye(3).expand_as(fr.R)
        torch.testing.assert_close(fr.R.transpose(-1, -2) @ fr.R, eye, atol=1e-5, rtol=0)
        b = bind_to_triangles(fid, bary, torch.zeros(n, 3), torch.tensor([1.0, 0, 0, 0])
                              .expand(n, 4), log_scales, fr)  # fmt: skip
        anchors = (bary[..., None] * verts[0][model.faces[fid]]).sum(1)
        torch.testing.assert_close(b.means[0], anchors)
        assert (b.scales >= 0).all() and (b.scales < 0.02).all()  # millimetre-sized discs
