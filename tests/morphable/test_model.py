"""MorphableHead on the built-in model: shapes, skinning behaviour, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from headforge.config import HeadModelConfig
from headforge.morphable import PART_NAMES, MorphableHead, load_head_model
from headforge.morphable.builtin import build_builtin


@pytest.fixture(scope="module")
def model() -> MorphableHead:
    return load_head_model(HeadModelConfig(n_shape=50, n_expr=20))


def test_shapes_and_defaults(model: MorphableHead) -> None:
    v, f = model.n_vertices, model.faces.shape[0]
    out = model()
    assert out.vertices.shape == (1, v, 3) and out.joints.shape == (1, 5, 3)
    assert out.landmarks68 is not None and out.landmarks68.shape == (1, 68, 3)
    torch.testing.assert_close(out.vertices[0], model.v_template)
    out = model(expr=torch.zeros(4, 20), translation=torch.ones(4, 3))
    assert out.vertices.shape == (4, v, 3)
    torch.testing.assert_close(out.vertices[2], model.v_template + 1.0)
    assert model.faces.dtype == torch.long and model.faces.shape == (f, 3)
    assert model.uvs is not None and model.uv_faces is not None
    assert model.uv_faces.shape == (f, 3) and int(model.uv_faces.max()) < model.uvs.shape[0]
    assert model.part_labels.shape == (v,) and model.n_shape == 50 and model.n_expr == 20
    assert len(model.expression_names) == 20


def test_bad_parameters_are_refused(model: MorphableHead) -> None:
    with pytest.raises(ValueError, match="jaw_pose must be"):
        model(jaw_pose=torch.zeros(2, 4))
    with pytest.raises(ValueError, match="batch size"):
        model(shape=torch.zeros(2, 50), expr=torch.zeros(3, 20))
    with pytest.raises(ValueError, match="shape must be"):
        model(shape=torch.zeros(1, 51))
    with pytest.raises(ValueError, match="lower them"):
        load_head_model(HeadModelConfig(n_shape=10_000))


def test_fewer_coefficients_are_zero_padded(model: MorphableHead) -> None:
    s = torch.randn(2, 10, generator=torch.Generator().manual_seed(1))
    a = model(shape=s).vertices
    b = model(shape=torch.cat([s, torch.zeros(2, 40)], 1)).vertices
    torch.testing.assert_close(a, b)


def test_jaw_rotation_moves_only_jaw_and_mouth(model: MorphableHead) -> None:
    rest = model().vertices[0]
    opened = model(jaw_pose=torch.tensor([[0.35, 0.0, 0.0]])).vertices[0]
    moved = (opened - rest).norm(dim=-1) > 1e-7
    # Moved: skinned to the jaw, or shaped by the jaw's pose correctives (cheeks hollowing).
    jaw_influence = (model.lbs_weights[:, 2] > 0) | (model.posedirs[:, :, 9:18] != 0).any((1, 2))
    assert moved.any() and bool((moved <= jaw_influence).all())
    labels = model.part_labels[moved]
    allowed = [PART_NAMES.index(n) for n in ("face", "mouth", "neck")]
    assert bool(torch.isin(labels, torch.tensor(allowed)).all())
    for part in ("eyes", "scalp", "ears"):
        assert not bool(moved[model.part_mask(part)].any()), part
    nose_tip_y = float(model().landmarks68[0, 30, 1])
    assert float(rest[moved, 1].max()) < nose_tip_y
    # The chin goes down and back, the lips part.
    lm_rest, lm_open = model().landmarks68[0], model(jaw_pose=torch.tensor([[0.35, 0, 0]]))
    chin = lm_open.landmarks68[0, 8] - lm_rest[8]
    assert chin[1] < -0.01 and chin[2] < 0
    gap = lm_open.landmarks68[0, 62, 1] - lm_open.landmarks68[0, 66, 1]
    assert gap > 0.015 and abs(float(lm_rest[62, 1] - lm_rest[66, 1])) < 1e-3


def test_eyes_rotate_rigidly_about_their_joints(model: MorphableHead) -> None:
    eyes = torch.tensor([[0.0, 0.4, 0.0, 0.0, -0.4, 0.0]])
    out = model(eyes_pose=eyes)
    rest = model()
    left = model.part_mask("eyes") & (model.v_template[:, 0] > 0)
    d0 = (rest.vertices[0, left] - rest.joints[0, 3]).norm(dim=-1)
    d1 = (out.vertices[0, left] - out.joints[0, 3]).norm(dim=-1)
    torch.testing.assert_close(d0, d1)
    # Yaw +0.4 about +y turns the left pupil (front pole) toward +x.
    front = out.vertices[0, left][rest.vertices[0, left][:, 2].argmax()]
    assert front[0] > rest.joints[0, 3, 0] + 0.003


def test_gradients_reach_every_parameter(model: MorphableHead) -> None:
    g = torch.Generator().manual_seed(0)
    params = {
        "shape": torch.randn(2, 50, generator=g) * 0.5,
        "expr": torch.randn(2, 20, generator=g) * 0.5,
        "rotation": torch.randn(2, 3, generator=g) * 0.1,
        "neck_pose": torch.randn(2, 3, generator=g) * 0.1,
        "jaw_pose": torch.tensor([[0.2, 0.0, 0.0], [0.1, 0.02, 0.0]]),
        "eyes_pose": torch.randn(2, 6, generator=g) * 0.1,
        "translation": torch.randn(2, 3, generator=g) * 0.01,
    }
    for p in params.values():
        p.requires_grad_(True)
    out = model(**params)
    target = out.vertices.detach() * 1.1
    loss = ((out.vertices - target) ** 2).sum() + (out.landmarks68**2).sum() + out.joints.sum()
    loss.backward()
    for name, p in params.items():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert float(p.grad.abs().sum()) > 0, name
    # Gradients are finite at exactly zero pose too.
    zero = torch.zeros(1, 3, requires_grad=True)
    model(jaw_pose=zero).vertices.sum().backward()
    assert torch.isfinite(zero.grad).all() and float(zero.grad.abs().sum()) > 0


def test_landmarks_follow_the_surface(model: MorphableHead) -> None:
    g = torch.Generator().manual_seed(3)
    out = model(shape=torch.randn(3, 50, generator=g), expr=torch.randn(3, 20, generator=g),
                jaw_pose=torch.tensor([[0.2, 0, 0]] * 3))
    fi, bc = model.lmk68_faces_idx, model.lmk68_bary
    assert bool(((bc >= 0) & (bc <= 1)).all())
    torch.testing.assert_close(bc.sum(1), torch.ones(68))
    tri = out.vertices[:, model.faces[fi]]  # [B, 68, 3, 3]
    n = torch.linalg.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0])
    n = n / n.norm(dim=-1, keepdim=True)
    off = ((out.landmarks68 - tri[:, :, 0]) * n).sum(-1)
    assert float(off.abs().max()) < 1e-6


def test_model_from_a_flame_layout_dict_without_extras() -> None:
    d = dict(build_builtin())
    for k in [k for k in d if k.startswith(("vt", "ft", "part", "lmk"))]:
        del d[k]
    m = MorphableHead(d, n_shape=5, n_expr=3)
    assert m.uvs is None and m.model_id == "headforge-builtin-v1"
    assert m().landmarks68 is None and m().landmarks478 is None
    labels = m.part_labels
    assert bool((labels == PART_NAMES.index("eyes")).sum() > 0)
    np.testing.assert_array_equal(
        labels.numpy() == PART_NAMES.index("eyes"), d["weights"][:, 3:].sum(1) > 0.5
    )
