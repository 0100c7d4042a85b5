"""The no-prior baseline: the same Gaussians, optimised from scratch.

Same sample points, same binding to the posed mesh and the same activations as the prior's
avatars, but each Gaussian's raw parameters are free tensors initialised like the decoder's
untrained output (:meth:`headforge.prior.layout.ChannelLayout.initial`). It is fitted to
the same inputs with the same image energy, for a given wall-time budget (the inversion's).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from headforge.config import InvertConfig
from headforge.invert.core import InversionInputs, StepCallback, frame_groups, render_frames
from headforge.optim import Phase, PhaseReport, run_phase
from headforge.prior.gaussians import GaussianBatch, activate_on_mesh
from headforge.prior.layout import ChannelLayout
from headforge.prior.losses import gaussian_regularisers, photometric_terms
from headforge.prior.model import HeadPrior
from headforge.prior.render import Rendered, render_head


class FreeGaussians(nn.Module):
    """Per-Gaussian raw parameters on the prior's binding, without a network."""

    shape: Tensor

    def __init__(self, prior: HeadPrior, shape: Tensor) -> None:
        super().__init__()
        self._prior = [prior]
        n = prior.n_gaussians
        init = ChannelLayout(prior.spec.decoder.sh_degree).initial().to(shape.device)
        self.raw = nn.Parameter(init.expand(1, n, -1).clone())
        self.register_buffer("shape", shape.detach().clone().view(-1))

    @property
    def prior(self) -> HeadPrior:
        return self._prior[0]

    def gaussians(self, params: Mapping[str, Tensor]) -> GaussianBatch:
        """Placed Gaussians [B, N] for parameters [B, D] (this subject's shape)."""
        p = dict(params)
        b = p["expr"].shape[0]
        p["shape"] = self.shape.expand(b, -1)
        verts = self.prior.pose(p)
        return activate_on_mesh(self.raw.expand(b, -1, -1), verts, self.prior.faces,
                                self.prior.binding(), self.prior.spec.max_offset,
                                self.prior.spec.scale_mult)

    @torch.no_grad()
    def render(self, params: Mapping[str, Tensor], K: Tensor, w2c: Tensor, width: int,
               height: int) -> Rendered:
        return render_head(self.gaussians(params), K, w2c, width, height)


@dataclass
class BaselineResult:
    model: FreeGaussians
    stage: PhaseReport


def fit_baseline(
    prior: HeadPrior,
    inputs: InversionInputs,
    cfg: InvertConfig,
    seconds: float,
    max_steps: int = 100_000,
    callback: StepCallback | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> BaselineResult:
    """Fit free Gaussians to ``inputs`` for ``seconds`` of wall time (or ``max_steps``),
    as measured by ``clock`` (seconds; tests drive the budget with a fake one)."""
    if seconds <= 0:
        raise ValueError(f"baseline time budget must be > 0 s, got {seconds}")
    dev = prior.device
    images, masks = inputs.images.to(dev), inputs.masks.to(dev)
    K, w2c = inputs.K.to(dev), inputs.w2c.to(dev)
    params = {k: v.to(dev, torch.float32) for k, v in inputs.params.items()}
    h, w = inputs.resolution
    model = FreeGaussians(prior, params["shape"].mean(0))

    frame_index, first = frame_groups(params)
    members = [torch.nonzero(frame_index == u)[:, 0].to(dev) for u in range(len(first))]
    uniq = {k: v[first.to(dev)] for k, v in params.items()}

    def energy(stage: Phase) -> dict[str, Tensor]:
        g = model.gaussians(uniq)
        rgb, alpha = render_frames(g, members, K, w2c, w, h)
        terms = photometric_terms(rgb, alpha, images, masks)
        terms.update(gaussian_regularisers(g, prior.spec.max_offset))
        return terms

    weights = {"l1": 1.0, "dssim": cfg.w_ssim, "mask": cfg.w_mask, "offset": cfg.w_offset,
               "scale": cfg.w_scale}
    stage = Phase("baseline", max_steps, cfg.baseline_lr, free=("gaussians",),
                  terms=tuple(weights), time_budget=seconds)
    res = run_phase({"gaussians": model.raw}, stage, energy, weights, callback, clock)
    return BaselineResult(model=model, stage=res)
