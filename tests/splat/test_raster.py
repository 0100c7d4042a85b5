"""Tile rasterizer vs brute force (every Gaussian x every pixel), in float32 and float64."""

from __future__ import annotations

import pytest
import torch

from headforge.splat.render import rasterize
from headforge.splat.scenes import random_scene


def _render(scene, backend, **kw):
    return rasterize(**scene.kwargs(), backend=backend, **kw)


def _assert_match(a, b, atol=1e-5):
    torch.testing.assert_close(a.image, b.image, atol=atol, rtol=0)
    torch.testing.assert_close(a.alpha, b.alpha, atol=atol, rtol=0)
    # expected depth is a ratio (sum w z / alpha): compare the accumulated form
    torch.testing.assert_close(a.depth * a.alpha, b.depth * b.alpha, atol=10 * atol, rtol=0)


@pytest.mark.parametrize(
    ("seed", "n", "w", "h", "cams", "tile", "sh"),
    [
        (0, 60, 40, 30, 1, 16, None),
        (1, 120, 37, 29, 2, 8, None),  # image not a multiple of the tile size
        (2, 80, 32, 32, 2, 4, 3),
        (3, 150, 48, 20, 1, 16, 1),
    ],
)
def test_torch_matches_sequential_brute_force(seed, n, w, h, cams, tile, sh):
    scene = random_scene(n, w, h, n_cameras=cams, seed=seed, sh_degree=sh, edge_cases=True,
                         scale_range=(0.02, 0.25))
    out = _render(scene, "torch", tile_size=tile)
    ref = _render(scene, "reference_sequential")
    assert out.alpha.max() > 0.5  # the scene is actually visible
    _assert_match(out, ref)


def test_edge_cases_are_culled_or_finite():
    scene = random_scene(40, 32, 24, seed=4, edge_cases=True)
    out = _render(scene, "torch", tile_size=8)
    radii = out.meta["radii"][0]
    assert (radii[0] == 0).all() and (radii[1] == 0).all()  # behind / inside near plane
    assert (radii[2] == 0).all()  # off-screen
    assert (radii[7] == 0).all()  # opacity below 1/255
    for t in (out.image, out.alpha, out.depth):
        assert torch.isfinite(t).all()


def test_dense_reference_matches_sequential():
    scene = random_scene(70, 30, 26, n_cameras=2, seed=5, edge_cases=True,
                         scale_range=(0.02, 0.3))
    _assert_match(_render(scene, "reference"), _render(scene, "reference_sequential"))


def test_float64_exact_and_saturation():
    # Many opaque Gaussians: transmittance falls below 1e-4 and early termination matters.
    scene = random_scene(300, 24, 24, seed=6, scale_range=(0.05, 0.3), dtype=torch.float64)
    scene.opacities[:] = 0.98
    out = _render(scene, "torch", tile_size=8, alpha_max=0.999)
    ref = _render(scene, "reference_sequential", alpha_max=0.999)
    assert out.alpha.max() > 0.999  # saturated: the 1e-4 stop rule decided these pixels
    _assert_match(out, ref, atol=1e-12)


def test_chunking_does_not_change_the_image():
    scene = random_scene(200, 64, 48, seed=7, scale_range=(0.02, 0.2))
    big = _render(scene, "torch")
    small = _render(scene, "torch", chunk_elements=3000)
    assert small.meta["n_chunks"] > big.meta["n_chunks"]
    torch.testing.assert_close(big.image, small.image, atol=0, rtol=0)


def test_background_depth_and_meta():
    scene = random_scene(50, 32, 24, n_cameras=2, seed=8)
    bg = torch.tensor([0.2, 0.4, 0.9])
    out = _render(scene, "torch", background=bg)
    plain = _render(scene, "torch")
    torch.testing.assert_close(out.image, plain.image + (1 - plain.alpha) * bg)
    assert out.image.shape == (2, 24, 32, 3)
    assert out.alpha.shape == out.depth.shape == (2, 24, 32, 1)
    covered = out.alpha[..., 0] > 0.5
    d = out.depth[..., 0][covered]
    assert (d > 2.0).all() and (d < 4.0).all()  # cameras orbit at radius 3 around the ball
    assert out.meta["radii"].shape == (2, 50, 2)
    assert out.meta["tile_counts"].shape == (2, 3, 4)  # 8-px tiles over 32 x 24
    assert int(out.meta["tile_counts"].sum()) == out.meta["n_isects"]
    assert out.meta["n_visible"].shape == (2,)


def test_colour_channels_and_per_camera_colours():
    scene = random_scene(40, 20, 20, n_cameras=2, seed=9)
    feats = torch.rand(2, 40, 5)
    scene.colors = feats
    out = _render(scene, "torch")
    ref = _render(scene, "reference_sequential")
    assert out.image.shape == (2, 20, 20, 5)
    _assert_match(out, ref)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: setattr(s, "opacities", s.opacities[:, None]), "squeeze"),
        (lambda s: setattr(s, "quats", s.quats[:, :3]), "quats"),
        (lambda s: setattr(s, "viewmats", s.viewmats[0]), "viewmats"),
        (lambda s: setattr(s, "Ks", s.Ks.expand(3, 3, 3)), "Ks"),
        (lambda s: setattr(s, "colors", s.colors[:, None]), "sh_degree"),
        (lambda s: setattr(s, "means", s.means.double()), "dtype"),
    ],
)
def test_bad_inputs_name_the_problem(change, message):
    scene = random_scene(10, 16, 16, seed=0)
    change(scene)
    with pytest.raises(ValueError, match=message):
        _render(scene, "torch")


def test_gsplat_backend_on_cpu_is_a_clear_error():
    scene = random_scene(10, 16, 16, seed=0)
    with pytest.raises(ValueError, match="CUDA"):
        _render(scene, "gsplat")
    assert _render(scene, "auto").meta["backend"] == "torch"
