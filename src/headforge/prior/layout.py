"""One named layout of the raw Gaussian parameter channels.

The decoder's output maps, the per-Gaussian raw vectors that :mod:`headforge.prior.gaussians`
activates, the no-prior baseline's free parameters and the PLY writer all read the channel
order and the initial (untrained) values from here, never from numbers of their own:

====================  ========  ============================================================
name                  channels  raw meaning (activation)
====================  ========  ============================================================
``offset``            3         local offset (``tanh * max_offset`` metres)
``rotation``          4         local quaternion wxyz (normalised)
``scale``             3         log scale relative to the sample spacing (``exp``)
``opacity``           1         opacity logit (``sigmoid``)
``color``             3 K       colour logits (K = 1, ``sigmoid``) or SH coefficients
====================  ========  ============================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

CHANNEL_NAMES = ("offset", "rotation", "scale", "opacity", "color")
"""Channel groups in storage order."""
INITIAL_OPACITY_LOGIT = 2.0
"""sigmoid(2) ~ 0.88: opaque enough to cover the skin, transparent enough to learn."""
INITIAL_NORMAL_LOG_SCALE = -0.7
"""exp(-0.7) ~ 0.5: Gaussians start thinner along the surface normal (local z)."""


def sh_coeffs(degree: int) -> int:
    """Number of SH coefficients per colour channel for ``degree``."""
    return (degree + 1) ** 2


@dataclass(frozen=True)
class ChannelLayout:
    """Channel slices of a raw Gaussian parameter vector for one SH degree."""

    sh_degree: int = 0

    @property
    def color_coeffs(self) -> int:
        """K: colour coefficients per RGB channel (1 for plain RGB)."""
        return sh_coeffs(self.sh_degree)

    def sizes(self) -> dict[str, int]:
        """Channels per group, in storage order."""
        return {"offset": 3, "rotation": 4, "scale": 3, "opacity": 1,
                "color": 3 * self.color_coeffs}

    @property
    def channels(self) -> int:
        """Total raw channels (14 for plain RGB)."""
        return sum(self.sizes().values())

    def slices(self) -> dict[str, slice]:
        """Group name -> channel slice."""
        out, start = {}, 0
        for name, n in self.sizes().items():
            out[name] = slice(start, start + n)
            start += n
        return out

    @staticmethod
    def for_channels(n: int) -> ChannelLayout:
        """The layout with ``n`` raw channels (plain RGB or a whole SH degree)."""
        fixed = ChannelLayout(0).channels - 3  # every group but the colour
        for degree in range(5):
            if fixed + 3 * sh_coeffs(degree) == n:
                return ChannelLayout(degree)
        raise ValueError(f"{n} raw Gaussian channels match no layout (14 for RGB, "
                         f"{fixed} + 3 (degree + 1)^2 for SH)")

    def split(self, raw: Tensor, dim: int = -1) -> dict[str, Tensor]:
        """Named views of ``raw`` along ``dim`` (must hold :attr:`channels` entries)."""
        if raw.shape[dim] != self.channels:
            raise ValueError(f"raw Gaussian parameters have {raw.shape[dim]} channels along "
                             f"dim {dim}; the layout for sh_degree {self.sh_degree} has "
                             f"{self.channels}")
        parts = raw.split(list(self.sizes().values()), dim=dim)
        return dict(zip(CHANNEL_NAMES, parts, strict=True))

    def initial(self) -> Tensor:
        """[C] raw values of an untrained Gaussian: no offset, identity rotation, spacing-sized
        but thinner along the normal, fairly opaque, mid-grey colour."""
        v = torch.zeros(self.channels)
        s = self.slices()
        v[s["rotation"].start] = 1.0  # w of the identity quaternion
        v[s["scale"].start + 2] = INITIAL_NORMAL_LOG_SCALE
        v[s["opacity"].start] = INITIAL_OPACITY_LOGIT
        return v
