"""SynShot's identity encoder E_id: the subject's photos in UV space -> identity code.

Input, all in the head model's UV layout at the decoder's resolution: the colour map
unprojected from the photos (3), its confidence (1) and the neutral head's vertex positions
(3, from the tracked shape, in decimetres). A strided CNN reduces it to 4 x 4 and a linear
layer to the identity code. It is trained jointly with the decoder on synthetic heads seen
the way users are (1-3 photos, partial visibility, colour jitter), so one forward pass gives
a feed-forward avatar and the starting code of pivotal tuning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

INPUT_CHANNELS = 7
"""colour (3) + confidence (1) + neutral position (3)."""


@dataclass(frozen=True)
class EncoderSpec:
    """Shape of the identity encoder (stored in checkpoints)."""

    latent_dim: int
    """Identity code size (the decoder's ``latent_dim``)."""
    uv_res: int
    """Input map resolution (the decoder's ``uv_res``, a power of two >= 8)."""
    channels: int = 32
    """Channels of the first level; each halving of the resolution doubles them, up to 4x."""


class IdentityEncoder(nn.Module):
    """[B, 7, R, R] UV maps -> [B, L] identity codes."""

    def __init__(self, spec: EncoderSpec) -> None:
        super().__init__()
        r = spec.uv_res
        if r < 8 or r & (r - 1):
            raise ValueError(f"encoder uv_res must be a power of two >= 8, got {r}")
        self.spec = spec
        levels = int(math.log2(r)) - 2  # R -> 4
        c = spec.channels
        self.stem = nn.Conv2d(INPUT_CHANNELS, c, 3, padding=1)
        convs = []
        for i in range(levels):
            cin, cout = min(c * 2**i, 4 * c), min(c * 2 ** (i + 1), 4 * c)
            convs.append(nn.Conv2d(cin, cout, 3, stride=2, padding=1))
        self.convs = nn.ModuleList(convs)
        self.out_width = min(c * 2**levels, 4 * c)
        self.fc = nn.Linear(self.out_width * 16, spec.latent_dim)
        nn.init.normal_(self.fc.weight, std=1e-3)
        assert self.fc.bias is not None
        nn.init.zeros_(self.fc.bias)

    def forward(self, maps: Tensor) -> Tensor:
        r = self.spec.uv_res
        if maps.dim() != 4 or maps.shape[1:] != (INPUT_CHANNELS, r, r):
            raise ValueError(f"encoder input must be [B, {INPUT_CHANNELS}, {r}, {r}], got "
                             f"{tuple(maps.shape)}")
        x = F.leaky_relu(self.stem(maps), 0.2)
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
        return self.fc(x.flatten(1))


def encoder_input(color: Tensor, conf: Tensor, position: Tensor) -> Tensor:
    """Stack colour [B, 3, R, R], confidence [B, 1, R, R] and neutral positions [B, 3, R, R]
    (metres) into the encoder's input (colour centred, positions in decimetres)."""
    return torch.cat([(color - 0.5) * conf, conf, position * 10.0], dim=1)
