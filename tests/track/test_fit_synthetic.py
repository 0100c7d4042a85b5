"""Tracking the project's head model on synthetic inputs with known parameters.

Bounds from the issue, asserted on every frame: face-region vertex error <= 2 % of the head
width with several views (as fitted: no alignment); landmark reprojection <= 1.5 px at 256 x
256; from one view <= 4 %. From one camera the head's metric size is unobservable (scaling the
head and its distance together about the camera centre changes no pixel), so the monocular
bound is asserted (a) as fitted, with no alignment, when the subject's identity is known, and
(b) for an unknown identity, after fixing only that one scale (shared by all frames). The
as-fitted error for an unknown identity is reported by benchmarks/track.py (docs/track.md).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from headforge.config import TrackConfig
from headforge.morphable import load_head_model
from headforge.track.dense import DenseTerm, GaussianHead
from headforge.track.fit import fit_subject
from headforge.track.scene import build_scene
from headforge.track.synthetic import (
    rig,
    sample_params,
    smooth_albedo,
    synthetic_case,
    vertex_errors,
)


@pytest.fixture(scope="module")
def model():
    return load_head_model()


def _face(model) -> torch.Tensor:
    return model.part_mask("face") | model.part_mask("eyes") | model.part_mask("mouth")


@pytest.mark.parametrize("n_cams", [3, 1])
def test_landmark_fit_meets_the_bounds(model, n_cams: int) -> None:
    truth = sample_params(3, seed=1, n_shape=model.n_shape, n_expr=model.n_expr)
    case = synthetic_case(model, truth, rig(n_cams), noise_px=0.3)
    cfg = TrackConfig(steps_rigid=100, steps_landmarks=300, steps_dense=0)
    res = fit_subject(
        model, build_scene("syn", case.views), case.landmarks, cfg, model.n_shape, model.n_expr
    )
    assert all(f.status == "ok" for f in res.frames)
    assert float(np.nanmax(res.view_error_px)) <= 1.5
    w2c = case.views[0].w2c
    centre = -w2c[:3, :3].T @ w2c[:3, 3]
    err = vertex_errors(model, res.params.per_frame(), truth, _face(model), centre)
    if n_cams > 1:
        assert err.world.max() <= 0.02, err.world
    else:
        assert err.gauge.max() <= 0.04, err.gauge  # measured 1.0-1.6 %
        assert err.aligned.max() <= 0.04, err.aligned


@pytest.mark.parametrize("seed", [1, 4])
def test_monocular_depth_with_a_known_identity(model, seed: int) -> None:
    """Seed 4's head is ~4 % larger than the mean one: with its identity unknown a single
    view puts it ~5 cm too close (27 % error); with the identity known the depth is right."""
    truth = sample_params(3, seed=seed, n_shape=model.n_shape, n_expr=model.n_expr)
    case = synthetic_case(model, truth, rig(1), noise_px=0.3)
    cfg = TrackConfig(steps_rigid=100, steps_landmarks=300, steps_dense=0)
    res = fit_subject(model, build_scene("syn", case.views), case.landmarks, cfg, model.n_shape,
                      model.n_expr, known_shape=truth["shape"][0].numpy())  # fmt: skip
    assert torch.equal(res.params.shape, truth["shape"][0])  # held fixed
    assert float(np.nanmax(res.view_error_px)) <= 1.5
    err = vertex_errors(model, res.params.per_frame(), truth, _face(model))
    assert err.world.max() <= 0.04, err.world  # as fitted, every frame; measured <= 1.7 %


def test_known_shape_is_checked(model) -> None:
    truth = sample_params(1, seed=1, n_shape=model.n_shape, n_expr=model.n_expr)
    case = synthetic_case(model, truth, rig(1))
    with pytest.raises(ValueError, match="known_shape must be 50 finite"):
        fit_subject(model, build_scene("syn", case.views), case.landmarks, TrackConfig(),
                    model.n_shape, model.n_expr, known_shape=np.zeros(3))  # fmt: skip


def test_dense_refinement_fits_albedo_and_keeps_the_geometry(model) -> None:
    truth = sample_params(1, seed=5, n_shape=model.n_shape, n_expr=model.n_expr)
    gt = GaussianHead(model, parts=("face", "eyes", "mouth"))
    gt.albedo_logit.copy_(torch.logit(smooth_albedo(gt, model)))
    case = synthetic_case(model, truth, rig(2), noise_px=0.3, head=gt)
    assert case.images is not None and case.masks is not None
    assert 0.05 < float(case.masks.mean()) < 0.9  # the head is in the picture
    dense = DenseTerm(
        GaussianHead(model, parts=("face", "eyes", "mouth")),
        case.images,
        case.masks,
        resolution=64,
        views_per_step=2,
    )
    cfg = TrackConfig(steps_rigid=60, steps_landmarks=150, steps_dense=8)
    res = fit_subject(
        model,
        build_scene("syn", case.views),
        case.landmarks,
        cfg,
        model.n_shape,
        model.n_expr,
        dense=dense,
    )
    st = res.optim.stages[2]
    assert st.name == "dense" and st.status == "ok" and st.steps_run == 8
    assert st.final["photometric"] < 0.8 * st.initial["photometric"]
    err = vertex_errors(model, res.params.per_frame(), truth, _face(model))
    assert err.world.max() <= 0.02 and float(np.nanmax(res.view_error_px)) <= 1.5


def test_joint_stage_corrects_a_miscalibrated_camera(model) -> None:
    """One camera's extrinsics are off by ~1.5 deg and 6 mm: the joint stage (camera
    corrections + per-frame expression) brings the landmark error back down."""
    import dataclasses

    from headforge.cameras import axis_angle_to_matrix

    truth = sample_params(2, seed=7, n_shape=model.n_shape, n_expr=model.n_expr)
    case = synthetic_case(model, truth, rig(3), noise_px=0.2)
    R = axis_angle_to_matrix(torch.tensor([0.0, 0.025, 0.01])).double().numpy()
    views = []
    for v in case.views:
        if v.camera == "cam2":
            w2c = v.w2c.copy()
            w2c[:3, :3] = R @ w2c[:3, :3]
            w2c[:3, 3] = R @ w2c[:3, 3] + np.array([0.006, 0.0, 0.0])
            v = dataclasses.replace(v, w2c=w2c)
        views.append(v)
    errs = {}
    for joint in (0, 150):
        cfg = TrackConfig(steps_rigid=60, steps_landmarks=200, steps_dense=0, steps_joint=joint)
        res = fit_subject(model, build_scene("syn", views), case.landmarks, cfg,
                          model.n_shape, model.n_expr)  # fmt: skip
        errs[joint] = float(np.nanmean(res.view_error_px))
        if joint:
            assert res.optim.stages[3].status == "ok"
            assert float(res.params.cam_delta.abs().max()) > 1e-3  # cameras actually moved
    assert errs[150] < 0.6 * errs[0], errs
