"""The identity encoder, the photos' unprojection into UV space and the skip path."""

from __future__ import annotations

import pytest
import torch

from headforge.config import HeadModelConfig, TrainPriorConfig
from headforge.prior.appearance import unproject
from headforge.prior.encoder import EncoderSpec, IdentityEncoder
from headforge.prior.render import render_head
from headforge.prior.stage import load_head
from headforge.prior.train import build_prior


def _params(n: int = 1) -> dict[str, torch.Tensor]:
    dims = {"shape": 50, "expr": 20, "rotation": 3, "neck_pose": 3, "jaw_pose": 3,
            "eyes_pose": 6, "translation": 3}
    return {k: torch.zeros(n, d) for k, d in dims.items()}


def test_encoder_shapes_and_gradients_reach_every_weight_and_the_input() -> None:
    enc = IdentityEncoder(EncoderSpec(latent_dim=16, uv_res=16, channels=4))
    x = torch.randn(3, 7, 16, 16, requires_grad=True)
    z = enc(x)
    assert z.shape == (3, 16)
    z.pow(2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, p in enc.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # different photos give different codes
    assert not torch.allclose(z[0], z[1])
    with pytest.raises(ValueError, match=r"\[B, 7, 16, 16\]"):
        enc(torch.zeros(1, 4, 16, 16))
    with pytest.raises(ValueError, match="power of two"):
        IdentityEncoder(EncoderSpec(latent_dim=4, uv_res=12))


def _uv_coloured_view():
    """A prior whose untrained decoder paints each Gaussian with its own UV coordinates
    (r = u, g = v), rendered from the front: a picture whose colours say where they came
    from on the head."""
    head, parts = load_head(HeadModelConfig())
    prior = build_prior(TrainPriorConfig(latent_dim=4, uv_res=32, channels=4, face_density=2.0,
                                         hair_density=2.0), ["a"], head, parts)
    p = _params()
    uv = prior.b_uv
    colour = torch.stack([uv[:, 0], uv[:, 1], torch.full_like(uv[:, 0], 0.5)], -1)
    colour = colour.clamp(0.05, 0.95)[None]
    one = torch.ones(1, prior.n_gaussians, 1)
    from headforge.cameras import focal_from_fov, intrinsics
    from headforge.invert.views import orbit_w2c

    res = 96
    f = focal_from_fov(22.0, res)
    K = torch.from_numpy(intrinsics(f, f, res / 2, res / 2)).float()[None]
    w2c = torch.from_numpy(orbit_w2c(torch.zeros(3).numpy(), 0.7, 1, 5.0)).float()
    with torch.no_grad():
        g = prior(prior.latents[:1], p, photo=(colour, one)).gaussians
        r = render_head(g, K, w2c, res, res)
    return prior, p, colour, r, K, w2c


def test_a_texel_seen_by_the_camera_gets_the_pixels_colour() -> None:
    prior, p, colour, r, K, w2c = _uv_coloured_view()
    app = unproject(prior, r.rgb, r.alpha, K, w2c, p)
    seen = app.conf[0, :, 0] > 0.9
    assert seen.float().mean() > 0.15  # the face side of the head
    assert (app.conf[0, :, 0] == 0).float().mean() > 0.3  # the back is not seen
    err = (app.color[0, seen] - colour[0, seen]).abs()
    # renders blur neighbouring Gaussians: most seen samples land within 0.05 of their colour
    assert float((err.max(-1).values < 0.05).float().mean()) > 0.8
    # far from a random assignment of colours
    shuffled = colour[0, seen][torch.randperm(int(seen.sum()))]
    assert float(err.mean()) < 0.3 * float((shuffled - colour[0, seen]).abs().mean())
    # texel maps carry the same information for the encoder
    assert app.color_map.shape == (1, 3, 32, 32) and app.conf_map.max() > 0.9
    assert app.encoder_input().shape == (1, 7, 32, 32)
    # the neutral head's positions fill the texels the UV layout covers
    assert app.position_map.abs().sum(1).gt(0).float().mean() > 0.3


def test_skip_path_takes_the_photo_where_confident_and_the_decoder_elsewhere() -> None:
    head, parts = load_head(HeadModelConfig())
    prior = build_prior(TrainPriorConfig(latent_dim=4, uv_res=8, channels=4), ["a"], head,
                        parts)
    p = _params()
    n = prior.n_gaussians
    photo = torch.rand(1, n, 3) * 0.8 + 0.1
    conf = (torch.arange(n) % 2).float().view(1, n, 1)
    with torch.no_grad():
        plain = prior.decode(prior.latents[0], p).colors
        mixed = prior.decode(prior.latents[0], p, photo=(photo, conf)).colors
    on = conf[0, :, 0] > 0
    torch.testing.assert_close(mixed[0, on], photo[0, on], atol=1e-4, rtol=0)
    torch.testing.assert_close(mixed[0, ~on], plain[0, ~on], atol=1e-4, rtol=0)
    # the residual is learned: it receives gradient where the photo is used
    out = prior(prior.latents[:1], p, photo=(photo, conf))
    out.gaussians.colors.sum().backward()
    assert prior.decoder.residual.weight.grad is not None
    assert prior.decoder.residual.weight.grad.abs().sum() > 0
