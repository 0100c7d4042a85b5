"""LPIPS from a local TorchScript file: a clear error naming the missing file; the distance of
a scripted perceptual network (fixed conv features, unit-normalised, squared difference: the
LPIPS form, with untrained weights since none ship) is 0 for identical images and grows with
the degradation."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from headforge.metrics.lpips import Lpips, LpipsUnavailable, lpips_weights_available


class _Perceptual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.f1 = nn.Conv2d(3, 8, 3, padding=1)
        self.f2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        a1, b1 = torch.relu(self.f1(x)), torch.relu(self.f1(y))
        a2, b2 = torch.relu(self.f2(a1)), torch.relu(self.f2(b1))
        return _layer(a1, b1) + _layer(a2, b2)


def _layer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    na = a / (torch.sqrt((a * a).sum(1, keepdim=True)) + 1e-10)
    nb = b / (torch.sqrt((b * b).sum(1, keepdim=True)) + 1e-10)
    return ((na - nb) ** 2).sum(1).mean(2).mean(1)


def test_missing_weights_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "lpips_vgg.pt"
    assert not lpips_weights_available(missing) and not lpips_weights_available("")
    with pytest.raises(LpipsUnavailable, match="lpips_vgg.pt"):
        Lpips(missing)


def test_scripted_network_scores_identical_as_zero_and_noise_as_worse(tmp_path: Path) -> None:
    path = tmp_path / "lpips.pt"
    torch.jit.script(_Perceptual()).save(str(path))
    assert lpips_weights_available(path)
    lp = Lpips(path)
    g = torch.Generator().manual_seed(1)
    gt = torch.rand(2, 32, 32, 3, generator=g)
    assert max(lp(gt, gt)) < 1e-6
    small = lp((gt + 0.05 * torch.randn(gt.shape, generator=g)).clamp(0, 1), gt)
    big = lp((gt + 0.3 * torch.randn(gt.shape, generator=g)).clamp(0, 1), gt)
    assert all(0 < s < b for s, b in zip(small, big, strict=True))
    fg = torch.zeros(2, 32, 32, 1)
    assert max(lp(torch.rand(2, 32, 32, 3), gt, fg)) < 1e-6  # nothing outside the foreground
