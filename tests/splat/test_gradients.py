"""Gradients: float64 gradcheck of the full renderer, and parity with autograd brute force."""

from __future__ import annotations

import pytest
import torch

from headforge.splat.render import rasterize
from headforge.splat.scenes import random_scene


def _small_scene(seed: int, sh_degree: int | None, cams: int = 2):
    s = random_scene(7, 13, 11, n_cameras=cams, seed=seed, sh_degree=sh_degree,
                     scale_range=(0.08, 0.3), extent=0.4, dtype=torch.float64)
    s.opacities.clamp_(max=0.95)  # stay clear of the alpha clamp kink
    return s


@pytest.mark.parametrize(("seed", "sh_degree"), [(0, None), (1, 2), (2, 3)])
def test_gradcheck_all_parameters_and_camera(seed, sh_degree):
    s = _small_scene(seed, sh_degree)
    bg = torch.tensor([0.3, 0.1, 0.7], dtype=torch.float64)

    def f(means, quats, scales, opacities, colors, viewmats):
        out = rasterize(means, quats, scales, opacities, colors, viewmats, s.Ks, s.width,
                        s.height, sh_degree=sh_degree, background=bg, backend="torch",
                        tile_size=4)
        return out.image, out.alpha, out.depth

    inputs = [t.detach().clone().requires_grad_() for t in s.tensors()]
    assert f(*inputs)[1].max() > 0.3
    # fast_mode checks random projections of the Jacobian (both directions), far cheaper
    # than the full Jacobian for ~1000 outputs; test_gradcheck_full_jacobian covers the rest.
    assert torch.autograd.gradcheck(f, inputs, atol=1e-6, rtol=1e-4, fast_mode=True)


def test_gradcheck_full_jacobian():
    s = random_scene(5, 9, 7, seed=4, scale_range=(0.1, 0.3), extent=0.3, dtype=torch.float64)

    def f(means, quats, scales, opacities, colors, viewmats):
        out = rasterize(means, quats, scales, opacities, colors, viewmats, s.Ks, s.width,
                        s.height, backend="torch", tile_size=4)
        return out.image, out.alpha

    inputs = [t.detach().clone().requires_grad_() for t in s.tensors()]
    assert f(*inputs)[1].max() > 0.3
    assert torch.autograd.gradcheck(f, inputs, atol=1e-6, rtol=1e-4)


def test_gradcheck_antialiased_mode():
    s = _small_scene(3, None, cams=1)

    def f(means, scales, opacities):
        out = rasterize(means, s.quats, scales, opacities, s.colors, s.viewmats, s.Ks, s.width,
                        s.height, backend="torch", rasterize_mode="antialiased", tile_size=8)
        return out.image, out.alpha

    inputs = [t.detach().clone().requires_grad_() for t in (s.means, s.scales, s.opacities)]
    assert torch.autograd.gradcheck(f, inputs, atol=1e-6, rtol=1e-4, fast_mode=True)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gradients_match_brute_force_autograd(dtype):
    s = random_scene(80, 40, 28, n_cameras=2, seed=11, sh_degree=1, edge_cases=True,
                     scale_range=(0.03, 0.2), dtype=dtype)
    g = torch.Generator().manual_seed(0)
    w_img = torch.rand(2, 28, 40, 3, generator=g, dtype=dtype)
    w_a = torch.rand(2, 28, 40, 1, generator=g, dtype=dtype)

    def grads(backend):
        inputs = [t.detach().clone().requires_grad_() for t in s.tensors()]
        out = rasterize(*inputs, s.Ks, s.width, s.height, sh_degree=1, backend=backend,
                        tile_size=8)
        loss = (out.image * w_img).sum() + (out.alpha * w_a).sum() + (out.depth * out.alpha).sum()
        return torch.autograd.grad(loss, inputs)

    tol = 1e-9 if dtype == torch.float64 else 2e-4
    for name, a, b in zip(["means", "quats", "scales", "opacities", "sh", "viewmats"],
                          grads("torch"), grads("reference_sequential"), strict=True):
        assert torch.isfinite(a).all(), name
        scale = b.abs().max().clamp_min(1.0)
        torch.testing.assert_close(a / scale, b / scale, atol=tol, rtol=0, msg=name)


def test_gradients_with_early_termination_and_clamp():
    # Opaque, overlapping splats: pixels stop at T <= 1e-4 and alphas hit the 0.99 clamp.
    s = random_scene(120, 16, 12, seed=12, scale_range=(0.08, 0.3), dtype=torch.float64)
    s.opacities[::2] = 0.995
    s.opacities[1::2] = 0.97

    def grads(backend):
        inputs = [t.detach().clone().requires_grad_() for t in s.tensors()]
        out = rasterize(*inputs, s.Ks, s.width, s.height, backend=backend, tile_size=4)
        loss = (out.image * torch.linspace(0, 1, 3, dtype=torch.float64)).sum() + out.alpha.sum()
        return out, torch.autograd.grad(loss, inputs)

    out, ours = grads("torch")
    assert out.alpha.max() > 0.999  # some pixels terminated early
    _, ref = grads("reference_sequential")
    for a, b in zip(ours, ref, strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-8)
