from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from headforge.export.bake import (
    BakedAvatar,
    baked_gaussians,
    fit_blendshapes,
    head_vertices,
    local_channels,
    sample_expressions,
)
from headforge.export.job import BAKED_FILE, prepare
from headforge.invert.bundle import load_bundle
from headforge.prior.data import PARAM_KEYS


def _like(prior) -> dict[str, torch.Tensor]:
    dims = {"shape": prior.head.n_shape, "expr": prior.head.n_expr, "rotation": 3,
            "neck_pose": 3, "jaw_pose": 3, "eyes_pose": 6, "translation": 3}
    return {k: torch.zeros(1, dims[k]) for k in PARAM_KEYS}


def test_least_squares_recovers_linear_blendshapes() -> None:
    g = torch.Generator().manual_seed(0)
    base = torch.randn(5, 4, generator=g)
    blend = torch.randn(3, 5, 4, generator=g)
    coeffs = torch.randn(40, 3, generator=g)
    chans = base + torch.einsum("se,enc->snc", coeffs, blend)
    b0, b1 = fit_blendshapes(coeffs, chans, ridge=0.0)
    torch.testing.assert_close(b0, base, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(b1, blend, atol=1e-5, rtol=1e-5)


def test_local_channels_invert_the_triangle_binding(prior) -> None:
    """Placing the recovered local channels on the same mesh gives the Gaussians back."""
    from headforge.splat.gaussians import bind_to_triangles, triangle_frames

    like = _like(prior)
    p = {k: v.clone() for k, v in like.items()}
    p["jaw_pose"][0, 0] = 0.2
    p["rotation"][0] = torch.tensor([0.1, -0.3, 0.05])
    g = prior(prior.mean_latent()[None], p).gaussians
    verts = prior.pose(p)
    b = prior.binding()
    ch = local_channels(g, verts, prior.faces, b.face_index, b.bary)
    bound = bind_to_triangles(b.face_index, b.bary, ch[..., 0:3], ch[..., 3:7], ch[..., 7:10],
                              triangle_frames(verts, prior.faces))
    torch.testing.assert_close(bound.means, g.means, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(bound.scales, g.scales, atol=1e-6, rtol=1e-3)
    dots = (bound.quats * g.quats).sum(-1).abs()
    assert float(dots.min()) > 1 - 1e-4


def test_baked_head_is_the_head_model(prior, bundle: Path) -> None:
    """The baked mesh (identity shape baked in) poses exactly like the prior's head model."""
    job = prepare(bundle, prior)
    lb = load_bundle(bundle, prior)
    p = sample_expressions(_like(prior), 3, seed=4)
    p["rotation"] = torch.tensor([[0.1, 0.4, 0.0], [0.0, -0.2, 0.1], [0.3, 0.0, 0.0]])
    p["neck_pose"][:, 0] = 0.2
    p["translation"][:, 2] = 0.05
    p["shape"] = lb.avatar.shape.view(1, -1).expand(3, -1)
    torch.testing.assert_close(head_vertices(job.baked, p), prior.pose(p), atol=2e-6, rtol=1e-5)


def test_bake_matches_the_decoder_and_records_its_fidelity(prior, bundle: Path) -> None:
    job = prepare(bundle, prior)
    card = json.loads((bundle / "card.json").read_text())
    fid = card["bake"]["fidelity"]
    assert fid["held_out_expressions"] == 8 and len(fid["psnr_per_expression"]) == 8
    assert fid["psnr_mean"] >= 30.0 and fid["psnr_min"] >= 30.0, fid
    assert card["bake"]["gaussians"] == prior.n_gaussians == job.baked.n
    # the bake's Gaussians are the decoder's on an expression it never saw
    lb = load_bundle(bundle, prior)
    p = sample_expressions(_like(prior), 1, seed=99)
    ours = baked_gaussians(job.baked, p)
    theirs = lb.avatar.gaussians(p)
    err = (ours.means - theirs.means).norm(dim=-1)
    assert float(err.mean()) < 1e-3  # metres, on a ~0.2 m head
    assert float((ours.opacities - theirs.opacities).abs().mean()) < 0.02
    # reused, not re-baked, while the bundle's weights are unchanged
    before = (bundle / BAKED_FILE).stat().st_mtime_ns
    again = prepare(bundle, prior)
    assert (bundle / BAKED_FILE).stat().st_mtime_ns == before
    np.testing.assert_array_equal(again.baked.blend, job.baked.blend)


def test_blendshapes_carry_the_expression_dependence(prior, bundle: Path) -> None:
    """Dropping the blendshapes (canonical channels only) is measurably worse than the bake:
    the fit does model what the decoder changes with the expression."""
    job = prepare(bundle, prior)
    lb = load_bundle(bundle, prior)
    p = sample_expressions(_like(prior), 4, seed=7)
    truth = lb.avatar.gaussians(p).opacities
    flat = BakedAvatar(**{**job.baked.__dict__, "blend": np.zeros_like(job.baked.blend)})
    err_bake = (baked_gaussians(job.baked, p).opacities - truth).abs().mean()
    err_flat = (baked_gaussians(flat, p).opacities - truth).abs().mean()
    assert float(err_bake) < 0.5 * float(err_flat)


def test_wrong_coefficient_count_is_named(prior, bundle: Path) -> None:
    job = prepare(bundle, prior)
    p = sample_expressions(_like(prior), 1, seed=1)
    p["eyes_pose"] = p["eyes_pose"][:, :3]
    with pytest.raises(ValueError, match="expression coefficients"):
        baked_gaussians(job.baked, p)
