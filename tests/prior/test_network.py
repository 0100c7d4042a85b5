from __future__ import annotations

import pytest
import torch

from headforge.prior.network import DecoderSpec, UVDecoder, sample_maps


def test_decoder_shapes_and_neutral_initialisation() -> None:
    spec = DecoderSpec(latent_dim=8, expr_dim=5, uv_res=16, channels=8, sh_degree=1)
    dec = UVDecoder(spec)
    maps = dec(torch.randn(2, 8), torch.randn(2, 5), torch.randn(2, 3, 16, 16))
    assert maps.offset.shape == (2, 3, 16, 16)
    assert maps.rotation.shape == (2, 4, 16, 16)
    assert maps.scale.shape == (2, 3, 16, 16)
    assert maps.opacity.shape == (2, 1, 16, 16)
    assert maps.color.shape == (2, 12, 16, 16)  # 3 x (1+1)^2 SH coefficients
    # the head starts near its bias: identity rotation, no offset
    assert maps.offset.abs().max() < 0.05
    assert (maps.rotation[:, 0] > 0.9).all()


def test_decoder_refuses_bad_resolution_and_shapes() -> None:
    with pytest.raises(ValueError, match="power of two"):
        UVDecoder(DecoderSpec(latent_dim=4, expr_dim=2, uv_res=24))
    dec = UVDecoder(DecoderSpec(latent_dim=4, expr_dim=2, uv_res=8, channels=4))
    with pytest.raises(ValueError, match="expr must be"):
        dec(torch.zeros(1, 4), torch.zeros(1, 1), torch.zeros(1, 3, 8, 8))


def test_sample_maps_hits_texel_centres_exactly() -> None:
    m = torch.arange(16.0).view(1, 1, 4, 4)  # value = row * 4 + col
    uv = torch.tensor([[0.125, 0.125], [0.875, 0.125], [0.375, 0.625]])  # (col0,row0) ...
    s = sample_maps(m, uv)
    assert s.shape == (1, 3, 1)
    torch.testing.assert_close(s[0, :, 0], torch.tensor([0.0, 3.0, 9.0]))
    # between two texel centres: the bilinear mean
    mid = sample_maps(m, torch.tensor([[0.25, 0.125]]))
    torch.testing.assert_close(mid[0, 0, 0], torch.tensor(0.5))
