from __future__ import annotations

import math

import torch

from headforge.metrics import (
    foreground,
    lpips_weights_available,
    mean_scores,
    score_images,
    ssim_map,
)


def test_identical_images_score_perfectly_and_noise_scores_as_expected() -> None:
    g = torch.Generator().manual_seed(0)
    gt = torch.rand(1, 32, 32, 3, generator=g)
    fg = torch.ones(1, 32, 32, 1)
    s = score_images(gt, gt, fg)[0]
    assert s.psnr > 90 and abs(s.ssim - 1) < 1e-5 and s.l1 == 0
    pred = (gt + 0.1).clamp(0, 1)
    mse = float(((pred - gt) ** 2).mean())
    s2 = score_images(pred, gt, fg)[0]
    assert abs(s2.psnr - 10 * math.log10(1 / mse)) < 1e-3
    assert s2.ssim < 1.0


def test_scores_only_count_the_foreground() -> None:
    gt = torch.zeros(1, 16, 16, 3)
    pred = torch.zeros(1, 16, 16, 3)
    pred[:, :, 8:] = 1.0  # wrong only on the right half
    mask = torch.zeros(1, 16, 16, 1)
    mask[:, :, :8] = 1.0
    assert score_images(pred, gt, mask)[0].l1 == 0.0
    # the union with the rendered alpha brings the spill into the score
    alpha = torch.ones(1, 16, 16, 1)
    fg = foreground(mask, alpha)
    assert abs(score_images(pred, gt, fg)[0].l1 - 0.5) < 1e-6
    m = mean_scores(score_images(pred, gt, mask) + score_images(pred, gt, fg))
    assert set(m) == {"psnr", "ssim", "l1"}


def test_ssim_map_shape_and_lpips_absent_by_default() -> None:
    a = torch.rand(2, 20, 24, 3)
    assert ssim_map(a, a).shape == (2, 20, 24, 1)
    assert not lpips_weights_available("")
    assert not lpips_weights_available("no/such/lpips.pt")


def test_each_photometric_metric_moves_the_right_way_under_blur_and_noise() -> None:
    from skimage import data

    from headforge.metrics.l1 import l1
    from headforge.metrics.psnr import psnr
    from headforge.metrics.ssim import masked_ssim

    gt = torch.from_numpy(data.astronaut()[:128, 160:288].copy()).float() / 255.0
    fg = torch.ones(128, 128, 1)
    assert psnr(gt, gt, fg) == 100.0 and l1(gt, gt, fg) == 0.0
    assert abs(masked_ssim(ssim_map(gt[None], gt[None])[0], fg) - 1.0) < 1e-6
    g = torch.Generator().manual_seed(0)
    last = (100.0, 1.0, 0.0)
    for sigma in (0.02, 0.05, 0.15):
        pred = (gt + sigma * torch.randn(gt.shape, generator=g)).clamp(0, 1)
        now = (psnr(pred, gt, fg), masked_ssim(ssim_map(pred[None], gt[None])[0], fg),
               l1(pred, gt, fg))
        assert now[0] < last[0] and now[1] < last[1] and now[2] > last[2]
        last = now
