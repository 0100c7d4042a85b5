"""The torch rasterizer against gsplat.rasterization (forward and gradients), on CUDA."""

from __future__ import annotations

import pytest
import torch

from headforge import backends
from headforge.splat.render import rasterize
from headforge.splat.scenes import random_scene

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def gsplat_ready():
    if not backends.available("gsplat"):
        pytest.skip(backends.status("gsplat").detail)


@pytest.mark.parametrize(("sh_degree", "mode"), [(None, "classic"), (3, "antialiased")])
def test_forward_and_gradients_match_gsplat(gsplat_ready, sh_degree, mode):
    s = random_scene(400, 96, 64, n_cameras=2, seed=0, sh_degree=sh_degree, edge_cases=True,
                     scale_range=(0.01, 0.15))
    dev = torch.device("cuda")
    g = torch.Generator().manual_seed(1)
    w_img = torch.rand(2, 64, 96, 3, generator=g).to(dev)
    bg = torch.tensor([0.1, 0.5, 0.2], device=dev)

    def run(backend, alpha_max):
        inputs = [t.detach().to(dev).requires_grad_() for t in s.tensors()]
        out = rasterize(*inputs, s.Ks.to(dev), s.width, s.height, sh_degree=sh_degree,
                        background=bg, backend=backend, rasterize_mode=mode, alpha_max=alpha_max)
        loss = (out.image * w_img).sum() + out.alpha.sum() + (out.depth * out.alpha).sum()
        return out, torch.autograd.grad(loss, inputs)

    ours, g_ours = run("torch", 0.999)  # gsplat hard-codes the 0.999 alpha clamp
    theirs, g_theirs = run("gsplat", 0.999)
    assert theirs.meta["backend"] == "gsplat"
    torch.testing.assert_close(ours.image, theirs.image, atol=1e-4, rtol=0)
    torch.testing.assert_close(ours.alpha, theirs.alpha, atol=1e-4, rtol=0)
    torch.testing.assert_close(ours.depth * ours.alpha, theirs.depth * theirs.alpha,
                               atol=1e-3, rtol=0)  # fmt: skip
    torch.testing.assert_close(ours.meta["radii"], theirs.meta["radii"])
    names = ["means", "quats", "scales", "opacities", "colors", "viewmats"]
    for name, a, b in zip(names, g_ours, g_theirs, strict=True):
        scale = b.abs().max().clamp_min(1e-6)
        torch.testing.assert_close(a / scale, b / scale, atol=2e-3, rtol=0, msg=name)


def test_auto_picks_gsplat_on_cuda(gsplat_ready):
    s = random_scene(20, 32, 32, seed=2)
    dev = torch.device("cuda")
    out = rasterize(*[t.to(dev) for t in s.tensors()], s.Ks.to(dev), 32, 32, backend="auto")
    assert out.meta["backend"] == "gsplat"
