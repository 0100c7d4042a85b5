"""Few-shot inversion of the prior by two-stage pivotal tuning.

Stage ``latent``: the identity code (from the prior's mean code) is optimised with the network
frozen, jointly with small per-view camera corrections and per-frame expression corrections.
Stage ``decoder``: the code is fixed and a copy of the decoder is fine-tuned with a small
learning rate; a view-regularisation term keeps renders from reference views around the head
close to those of the pre-tuning avatar. Both run through :func:`headforge.optim.run_stages`
with EMA early stopping; budgets scale with the number of input frames.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from headforge.config import InvertConfig
from headforge.invert.views import camera_centres, corrected_w2c, reference_w2c
from headforge.optim import EarlyStop, ParamGroup, Stage, StageResult, StepCallback, run_stages
from headforge.prior.gaussians import GaussianBatch
from headforge.prior.losses import gaussian_regularisers, photometric_terms
from headforge.prior.model import HeadPrior
from headforge.prior.network import UVDecoder
from headforge.prior.render import Rendered, render_head


@dataclass
class InversionInputs:
    """S input images of one subject with their cameras and tracked parameters."""

    images: Tensor
    """[S, H, W, 3] RGB composited on black."""
    masks: Tensor
    """[S, H, W, 1] foreground."""
    K: Tensor
    """[S, 3, 3] intrinsics at the images' resolution."""
    w2c: Tensor
    """[S, 4, 4] world-to-camera (OpenCV)."""
    params: dict[str, Tensor]
    """FLAME-format parameters per image, each [S, D]."""
    names: list[str] = field(default_factory=list)
    """Labels of the inputs (for the card)."""

    def __post_init__(self) -> None:
        s = self.images.shape[0]
        if s < 1:
            raise ValueError("inversion needs at least one input image")
        bad = {k: tuple(v.shape) for k, v in self.params.items() if v.shape[0] != s}
        if self.masks.shape[0] != s or self.K.shape[0] != s or self.w2c.shape[0] != s or bad:
            raise ValueError(f"inversion inputs disagree on the number of images ({s}): "
                             f"masks {tuple(self.masks.shape)}, K {tuple(self.K.shape)}, "
                             f"w2c {tuple(self.w2c.shape)}, params {bad}")

    @property
    def resolution(self) -> tuple[int, int]:
        """(height, width)."""
        return int(self.images.shape[1]), int(self.images.shape[2])


class Avatar(nn.Module):
    """An inverted head: the prior's frozen machinery, a tuned decoder, a code and a shape."""

    def __init__(self, prior: HeadPrior, decoder: UVDecoder, latent: Tensor, shape: Tensor
                 ) -> None:
        super().__init__()
        self._prior = [prior]
        self.decoder = decoder
        self.latent = nn.Parameter(latent.detach().clone().view(-1))
        self.register_buffer("shape", shape.detach().clone().view(-1))

    @property
    def prior(self) -> HeadPrior:
        return self._prior[0]

    def with_identity(self, params: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Driver parameters [B, D] with this subject's shape put in."""
        b = next(iter(params.values())).shape[0]
        out = dict(params)
        out["shape"] = self.shape.to(params["expr"].device).expand(b, -1)
        return out

    def gaussians(self, params: Mapping[str, Tensor], keep_shape: bool = False) -> GaussianBatch:
        """Placed Gaussians [B, N] for parameters [B, D] (the avatar's shape unless keep_shape)."""
        p = dict(params) if keep_shape else self.with_identity(params)
        b = p["expr"].shape[0]
        return self.prior(self.latent.expand(b, -1), p, decoder=self.decoder).gaussians

    @torch.no_grad()
    def render(self, params: Mapping[str, Tensor], K: Tensor, w2c: Tensor, width: int,
               height: int) -> Rendered:
        """Render one parameter set (each [1, D]) from cameras K [C,3,3], w2c [C,4,4]."""
        return render_head(self.gaussians(params), K, w2c, width, height)


@dataclass
class InversionResult:
    """An avatar and how it was found."""

    avatar: Avatar
    stages: list[StageResult]
    camera_delta: Tensor
    """[S, 6] final camera corrections (axis-angle, metres)."""
    expr_delta: Tensor
    """[U, E] final expression corrections per unique input frame."""
    frame_index: Tensor
    """[S] input image -> unique frame."""
    seconds: float


def step_budget(base: int, per_frame: int, frames: int) -> int:
    """Steps of a stage: the configured budget, or per_frame x frames when that is larger."""
    return max(int(base), int(per_frame) * int(frames))


def frame_groups(params: Mapping[str, Tensor]) -> tuple[Tensor, Tensor]:
    """(unique-frame index [S], first image of each unique frame [U]) from parameters [S, D]."""
    flat = torch.cat([v.reshape(v.shape[0], -1) for _, v in sorted(params.items())], dim=-1)
    _, inv = torch.unique(flat.round(decimals=6), dim=0, return_inverse=True)
    first = torch.stack([torch.nonzero(inv == u)[0, 0] for u in range(int(inv.max()) + 1)])
    return inv, first


def _photo_weights(cfg: InvertConfig) -> dict[str, float]:
    return {"l1": 1.0, "dssim": cfg.w_ssim, "mask": cfg.w_mask, "offset": cfg.w_offset,
            "scale": cfg.w_scale}


def invert(
    prior: HeadPrior,
    inputs: InversionInputs,
    cfg: InvertConfig,
    callback: StepCallback | None = None,
) -> InversionResult:
    """Pivotal tuning of ``prior`` to ``inputs``; the prior itself is never modified."""
    t0 = time.perf_counter()
    dev = prior.b_uv.device
    images, masks = inputs.images.to(dev), inputs.masks.to(dev)
    K, w2c = inputs.K.to(dev), inputs.w2c.to(dev)
    params = {k: v.to(dev, torch.float32) for k, v in inputs.params.items()}
    h, w = inputs.resolution
    s = images.shape[0]
    frame_index, first = frame_groups(params)
    frame_index, first = frame_index.to(dev), first.to(dev)
    n_frames = int(first.shape[0])
    shape = params["shape"].mean(0)

    z = prior.mean_latent().clone().to(dev).requires_grad_(True)
    cam = torch.zeros(s, 6, device=dev, requires_grad=True)
    dexpr = torch.zeros(n_frames, params["expr"].shape[-1], device=dev, requires_grad=True)
    decoder = copy.deepcopy(prior.decoder)
    prior_params = [*prior.decoder.parameters(), prior.latents]
    saved_flags = [p.requires_grad for p in prior_params]
    for p in prior_params:
        p.requires_grad_(False)
    try:
        return _run(prior, cfg, callback, t0, images, masks, K, w2c, params, z, cam, dexpr,
                    decoder, frame_index, first, shape)
    finally:
        for p, f in zip(prior_params, saved_flags, strict=True):
            p.requires_grad_(f)


def _run(prior: HeadPrior, cfg: InvertConfig, callback: StepCallback | None, t0: float,
         images: Tensor, masks: Tensor, K: Tensor, w2c: Tensor, params: dict[str, Tensor],
         z: Tensor, cam: Tensor, dexpr: Tensor, decoder: UVDecoder, frame_index: Tensor,
         first: Tensor, shape: Tensor) -> InversionResult:
    dev = images.device
    s, h, w = images.shape[0], images.shape[1], images.shape[2]
    n_frames = int(first.shape[0])

    ref: dict[str, Tensor] = {}

    def current_params(idx: Tensor) -> dict[str, Tensor]:
        p = {k: v[idx] for k, v in params.items()}
        p["shape"] = shape.expand(len(idx), -1)
        p["expr"] = p["expr"] + dexpr[frame_index[idx]]
        return p

    def energy(step: int, stage: Stage) -> dict[str, Tensor]:
        rows = torch.arange(s, device=dev)
        p = current_params(rows)
        g = prior(z.expand(s, -1), p, decoder=decoder).gaussians
        wc = corrected_w2c(w2c, cam)
        rgb, alpha = [], []
        for i in range(s):
            r = render_head(g.item(i), K[i:i + 1], wc[i:i + 1], w, h)
            rgb.append(r.rgb)
            alpha.append(r.alpha)
        terms = photometric_terms(torch.cat(rgb), torch.cat(alpha), images, masks)
        terms.update(gaussian_regularisers(g, prior.spec.max_offset))
        terms["correction"] = (cam[:, :3] ** 2).sum() * 100.0 + (cam[:, 3:] ** 2).sum() * 1e4 \
            + (dexpr**2).sum() * 0.1
        if stage.name == "decoder" and ref:
            k = step % ref["w2c"].shape[0]
            gr = prior(z.expand(1, -1), ref["params"], decoder=decoder).gaussians
            r = render_head(gr, ref["K"], ref["w2c"][k:k + 1], w, h)
            terms["view"] = (r.rgb - ref["rgb"][k:k + 1]).abs().mean() + \
                (r.alpha - ref["alpha"][k:k + 1]).abs().mean()
        return terms

    es = EarlyStop(warmup=cfg.early_warmup, patience=cfg.early_patience)
    weights = _photo_weights(cfg) | {"correction": cfg.w_correction}
    stage1 = Stage(
        "latent", step_budget(cfg.steps_latent, cfg.steps_per_frame, n_frames),
        groups=[ParamGroup("latent", [z], cfg.lr_latent),
                ParamGroup("camera", [cam], cfg.lr_camera),
                ParamGroup("expression", [dexpr], cfg.lr_expr)],
        frozen=list(decoder.parameters()), weights=weights, early_stop=es,
    )
    results = run_stages([stage1], energy, callback)
    if cfg.steps_decoder > 0:
        with torch.no_grad():
            ref.update(_reference_renders(prior, decoder, z, current_params(first[:1]), K[:1],
                                          w2c, cfg.reference_views, w, h))
        stage2 = Stage(
            "decoder", step_budget(cfg.steps_decoder, cfg.steps_per_frame, n_frames),
            groups=[ParamGroup("decoder", list(decoder.parameters()), cfg.lr_decoder)],
            frozen=[z, cam, dexpr], weights=weights | {"view": cfg.view_reg}, early_stop=es,
        )
        results += run_stages([stage2], energy, callback)
    avatar = Avatar(prior, decoder, z.detach(), shape)
    for p in avatar.parameters():
        p.requires_grad_(False)
    return InversionResult(
        avatar=avatar, stages=results, camera_delta=cam.detach(), expr_delta=dexpr.detach(),
        frame_index=frame_index.cpu(), seconds=time.perf_counter() - t0,
    )


def _reference_renders(prior: HeadPrior, decoder: UVDecoder, z: Tensor,
                       params: dict[str, Tensor], K: Tensor, w2c: Tensor, n: int, w: int,
                       h: int) -> dict[str, Tensor]:
    """Renders of the pre-tuning avatar from n views around the head (view regularisation)."""
    params = {k: v.detach() for k, v in params.items()}
    g = prior(z.detach().expand(1, -1), params, decoder=decoder).gaussians
    centre = g.means[0].mean(0).cpu().numpy().astype(np.float64)
    radius = float(camera_centres(w2c).sub(g.means[0].mean(0)).norm(dim=-1).mean())
    ref_w2c = torch.from_numpy(reference_w2c(centre, radius, n)).float().to(z.device)
    r = render_head(g, K.expand(n, -1, -1), ref_w2c, w, h)
    return {"w2c": ref_w2c, "K": K, "rgb": r.rgb, "alpha": r.alpha, "params": params}
