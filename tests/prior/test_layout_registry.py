"""One channel layout; the decoder-architecture registry round-trips through checkpoints."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from headforge.config import HeadModelConfig, TrainPriorConfig
from headforge.prior import architectures
from headforge.prior.checkpoint import load_checkpoint, prior_from_checkpoint, save_checkpoint
from headforge.prior.layout import ChannelLayout
from headforge.prior.network import DecoderSpec, GaussianMaps, UVDecoder
from headforge.prior.stage import load_head
from headforge.prior.train import build_prior


def test_layout_slices_and_initial_values_are_the_decoders() -> None:
    lay = ChannelLayout(0)
    assert lay.channels == 14
    s = lay.slices()
    assert [s[n].stop - s[n].start for n in ("offset", "rotation", "scale", "opacity",
                                             "color")] == [3, 4, 3, 1, 3]
    assert ChannelLayout(1).channels == 11 + 12
    assert ChannelLayout.for_channels(23) == ChannelLayout(1)
    with pytest.raises(ValueError, match="match no layout"):
        ChannelLayout.for_channels(15)
    dec = UVDecoder(DecoderSpec(latent_dim=4, expr_dim=0, uv_res=8, channels=4))
    assert dec.head.bias is not None
    torch.testing.assert_close(dec.head.bias.detach(), lay.initial())
    init = lay.split(lay.initial())
    assert float(init["rotation"][0]) == 1.0 and float(init["opacity"][0]) > 1.0


@dataclasses.dataclass(frozen=True)
class FlatSpec(DecoderSpec):
    """A fake architecture's spec with a field of its own."""

    gain: float = 0.5


class FlatDecoder(nn.Module):
    """Per-texel maps plus a linear image of the code: enough to be a decoder."""

    def __init__(self, spec: FlatSpec) -> None:
        super().__init__()
        self.spec = spec
        lay = spec.layout
        r = spec.uv_res
        self.layout = lay
        self.maps = nn.Parameter(lay.initial().view(1, -1, 1, 1).repeat(1, 1, r, r))
        self.code = nn.Linear(spec.latent_dim, lay.channels)

    def forward(self, z: Tensor, expr: Tensor, expr_map: Tensor) -> GaussianMaps:
        raw = self.maps + self.spec.gain * self.code(z)[:, :, None, None]
        return GaussianMaps.from_raw(raw, self.layout)


@pytest.fixture
def flat_registered():
    architectures.register(architectures.Architecture("flat_test", FlatSpec, FlatDecoder,
                                                      "per-texel maps (test)"))
    yield "flat_test"
    architectures.unregister("flat_test")


def test_a_registered_architecture_trains_saves_and_rebuilds(flat_registered: str,
                                                             tmp_path: Path) -> None:
    head, parts = load_head(HeadModelConfig())
    cfg = TrainPriorConfig(latent_dim=4, uv_res=8, channels=4, architecture=flat_registered)
    prior = build_prior(cfg, ["a", "b"], head, parts)
    assert isinstance(prior.decoder, FlatDecoder)
    with torch.no_grad():
        prior.decoder.maps.add_(torch.randn_like(prior.decoder.maps) * 0.1)
    path = save_checkpoint(tmp_path / "p.pt", prior, 3, {})
    ck = load_checkpoint(path)
    assert ck["spec"]["architecture"] == "flat_test"
    back = prior_from_checkpoint(ck, head, parts)
    assert isinstance(back.decoder, FlatDecoder) and back.spec.decoder == prior.spec.decoder
    torch.testing.assert_close(back.decoder.maps, prior.decoder.maps)
    p = {k: torch.zeros(1, d) for k, d in (("shape", 50), ("expr", 20), ("rotation", 3),
                                          ("neck_pose", 3), ("jaw_pose", 3), ("eyes_pose", 6),
                                          ("translation", 3))}
    z = torch.randn(1, 4)
    torch.testing.assert_close(back.decode(z, p).colors, prior.decode(z, p).colors)


def test_unknown_architecture_names_the_known_ones(tmp_path: Path) -> None:
    head, parts = load_head(HeadModelConfig())
    with pytest.raises(ValueError, match="uv_cnn"):
        build_prior(TrainPriorConfig(uv_res=8, architecture="nope"), ["a"], head, parts)
    prior = build_prior(TrainPriorConfig(latent_dim=4, uv_res=8, channels=4), ["a"], head, parts)
    ck = load_checkpoint(save_checkpoint(tmp_path / "p.pt", prior, 1, {}))
    ck["spec"]["architecture"] = "gone"
    with pytest.raises(ValueError, match="unknown decoder architecture 'gone'"):
        prior_from_checkpoint(ck, head, parts)


def test_fp16_checkpoint_loads_close_to_the_fp32_one(tmp_path: Path) -> None:
    head, parts = load_head(HeadModelConfig())
    prior = build_prior(TrainPriorConfig(latent_dim=4, uv_res=8, channels=4, encoder=True),
                        ["a"], head, parts)
    small = save_checkpoint(tmp_path / "h.pt", prior, 1, {}, dtype=torch.float16)
    back = prior_from_checkpoint(load_checkpoint(small), head, parts)
    assert back.encoder is not None and prior.encoder is not None
    for a, b in zip(back.parameters(), prior.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=2e-3, rtol=2e-3)
