"""Geometry-only turntables: grey clay lit through the Gaussians' normals, no learned colour."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np
import pytest
import torch
from torch import Tensor

from headforge.cameras import look_at_w2c
from headforge.invert.bundle import turntable
from headforge.invert.shading import gaussian_normals, geometry_shaded, lambert_grey
from headforge.prior.gaussians import GaussianBatch


def _quat_about_x(deg: float) -> list[float]:
    h = math.radians(deg) / 2
    return [math.cos(h), math.sin(h), 0.0, 0.0]


def test_normal_is_the_rotated_thinnest_axis() -> None:
    quats = torch.tensor([[1.0, 0, 0, 0], _quat_about_x(90.0), [1.0, 0, 0, 0]])
    scales = torch.tensor([[1.0, 1.0, 0.01], [1.0, 1.0, 0.01], [0.01, 1.0, 1.0]])
    n = gaussian_normals(quats, scales)
    assert torch.allclose(n.abs(), torch.tensor([[0.0, 0, 1], [0, 1, 0], [1, 0, 0]]), atol=1e-6)
    assert torch.allclose(n.norm(dim=-1), torch.ones(3))


def test_lambert_grey_faces_the_camera_and_stays_in_range() -> None:
    w2c = torch.from_numpy(look_at_w2c(np.array([0.0, 0.0, 1.0]), np.zeros(3))).float()
    means = torch.zeros(3, 3)
    normals = torch.tensor([[0.0, 0, 1], [0.0, 0, -1], [1.0, 0, 0]])
    c = lambert_grey(means, normals, w2c, albedo=0.8, ambient=0.2)
    assert c.shape == (3, 3) and torch.equal(c[:, 0], c[:, 1]) and torch.equal(c[:, 1], c[:, 2])
    assert torch.allclose(c[0], c[1])  # a normal turned away is flipped toward the camera
    assert (c >= 0.8 * 0.2 - 1e-6).all() and (c <= 0.8 + 1e-6).all()
    # a headlight straight from the camera: facing normals are fully lit
    lit = lambert_grey(means, normals[:1], w2c, 0.8, 0.2, light_camera=(0.0, 0.0, -1.0))
    assert torch.allclose(lit, torch.full((1, 3), 0.8))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        lambert_grey(means, normals, w2c, ambient=1.5)


class _Splats:
    """A stand-in drivable model: fixed Gaussians, whatever the parameters."""

    def __init__(self, g: GaussianBatch) -> None:
        self.g = g

    def gaussians(self, params: Mapping[str, Tensor]) -> GaussianBatch:
        return self.g


def _blob(colour: tuple[float, float, float], flat_axis: int = 2, n: int = 300
          ) -> GaussianBatch:
    """Flat splats on a sphere of radius 0.1 m, all one colour."""
    gen = torch.Generator().manual_seed(0)
    p = torch.randn(n, 3, generator=gen)
    p = 0.1 * p / p.norm(dim=-1, keepdim=True)
    scales = torch.full((n, 3), 0.02)
    scales[:, flat_axis] = 0.002
    quats = torch.randn(n, 4, generator=gen)
    quats = quats / quats.norm(dim=-1, keepdim=True)
    return GaussianBatch(means=p[None], quats=quats[None], scales=scales[None],
                         opacities=torch.full((1, n), 0.9),
                         colors=torch.tensor(colour).expand(1, n, 3).clone(),
                         offsets=torch.zeros(1, n, 3), log_scales=torch.zeros(1, n, 3))


def test_geometry_turntable_shows_shape_not_colour() -> None:
    K = torch.tensor([[[60.0, 0, 24], [0, 60.0, 24], [0, 0, 1]]])
    red, blue = _Splats(_blob((1.0, 0.0, 0.0))), _Splats(_blob((0.0, 0.0, 1.0)))
    geo = {m: turntable(m, {}, K, 0.5, 3, (48, 48), shading="geometry", background=1.0)
           for m in (red, blue)}
    assert len(geo[red]) == 3 and geo[red][0].shape == (48, 48, 3)
    for a, b in zip(geo[red], geo[blue], strict=True):
        assert np.array_equal(a, b)  # the learned colours never reach the image
        assert np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 1], a[..., 2])
    front = geo[red][0][..., 0].astype(int)
    assert front[24, 24] < 230 and front[0, 0] == 255  # shaded head on a white background
    colour = turntable(red, {}, K, 0.5, 3, (48, 48))
    assert colour[0][24, 24, 0] > 2 * colour[0][24, 24, 2]  # the colour turntable is red
    # different geometry (splats edge-on to the surface) gives a different clay image
    other = _Splats(dataclasses.replace(_blob((1.0, 0.0, 0.0), flat_axis=0)))
    assert not np.array_equal(turntable(other, {}, K, 0.5, 1, (48, 48), "geometry", 1.0)[0],
                              geo[red][0])
    with pytest.raises(ValueError, match="shading 'albedo' is not one of"):
        turntable(red, {}, K, 0.5, 1, (48, 48), shading="albedo")


def test_geometry_shaded_refuses_batches() -> None:
    g = _blob((0.5, 0.5, 0.5))
    two = GaussianBatch(*(torch.cat([t, t]) for t in (g.means, g.quats, g.scales, g.opacities,
                                                      g.colors, g.offsets, g.log_scales)))
    with pytest.raises(ValueError, match="batch of 1"):
        geometry_shaded(two, torch.eye(4))
