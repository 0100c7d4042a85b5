"""Few-shot inversion of the prior by two-stage pivotal tuning (SynShot).

The input photos are first unprojected into UV space (:mod:`headforge.prior.appearance`): the
colours reach the Gaussians through the decoder's skip path, and the identity encoder turns
them into the starting code (the feed-forward avatar, :mod:`headforge.invert.feedforward`;
a prior without an encoder starts from its mean code).
Stage ``latent``: the identity code is optimised with the network frozen, jointly with small
per-view camera corrections and per-frame expression corrections.
Stage ``decoder``: the code is fixed and a copy of the decoder is fine-tuned with a small
learning rate; a view-regularisation term keeps renders from reference views around the head
close to those of the pre-tuning avatar. Both run through :func:`headforge.optim.run_phases`
with EMA early stopping; budgets scale with the number of input frames.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from headforge.config import InvertConfig
from headforge.invert.views import camera_centres, corrected_w2c, reference_w2c
from headforge.optim import EarlyStop, Phase, PhaseReport, run_phase
from headforge.prior.appearance import PhotoAppearance, unproject
from headforge.prior.gaussians import GaussianBatch
from headforge.prior.losses import gaussian_regularisers, photometric_terms
from headforge.prior.model import HeadPrior
from headforge.prior.render import Rendered, render_head

UVDecoder = nn.Module
"""Any decoder architecture (:mod:`headforge.prior.architectures`)."""


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
    """An inverted head: the prior's frozen machinery, a (tuned) decoder, a code, a shape and
    the photos' colours in UV space (None: the prior's colours alone)."""

    shape: Tensor

    def __init__(self, prior: HeadPrior, decoder: UVDecoder, latent: Tensor, shape: Tensor,
                 appearance: PhotoAppearance | None = None) -> None:
        super().__init__()
        self._prior = [prior]
        self.decoder = decoder
        self.latent = nn.Parameter(latent.detach().clone().view(-1))
        self.register_buffer("shape", shape.detach().clone().view(-1))
        self.appearance = appearance

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
        photo = self.appearance.photo() if self.appearance is not None else None
        return self.prior(self.latent.expand(b, -1), p, decoder=self.decoder,
                          photo=photo).gaussians

    @torch.no_grad()
    def render(self, params: Mapping[str, Tensor], K: Tensor, w2c: Tensor, width: int,
               height: int) -> Rendered:
        """Render one parameter set (each [1, D]) from cameras K [C,3,3], w2c [C,4,4]."""
        return render_head(self.gaussians(params), K, w2c, width, height)


@dataclass
class InversionResult:
    """An avatar and how it was found."""

    avatar: Avatar
    stages: list[PhaseReport]
    camera_delta: Tensor
    """[S, 6] final camera corrections (axis-angle, metres)."""
    expr_delta: Tensor
    """[U, E] final expression corrections per unique input frame."""
    frame_index: Tensor
    """[S] input image -> unique frame."""
    seconds: float
    feedforward: Avatar | None = None
    """The avatar before tuning (encoder code, prior's decoder, the photos' colours)."""
    feedforward_seconds: float = 0.0
    """Wall time of the unprojection and the encoder (the feed-forward avatar)."""


def step_budget(base: int, per_frame: int, frames: int) -> int:
    """Steps of a stage: the configured budget, or per_frame x frames when that is larger."""
    return max(int(base), int(per_frame) * int(frames))


def render_frames(g: GaussianBatch, members: list[Tensor], K: Tensor, w2c: Tensor, width: int,
                  height: int) -> tuple[Tensor, Tensor]:
    """Render head u of ``g`` [U, N] from the cameras of its images ``members[u]`` (one
    rasterizer call per unique frame) -> (rgb [S, H, W, 3], alpha [S, H, W, 1]) in image order.
    """
    order = torch.cat(members)
    rs = [render_head(g.item(u), K[m], w2c[m], width, height) for u, m in enumerate(members)]
    inv = torch.empty_like(order)
    inv[order] = torch.arange(len(order), device=order.device)
    return torch.cat([r.rgb for r in rs])[inv], torch.cat([r.alpha for r in rs])[inv]


def frame_groups(params: Mapping[str, Tensor]) -> tuple[Tensor, Tensor]:
    """(unique-frame index [S], first image of each unique frame [U]) from parameters [S, D]."""
    flat = torch.cat([v.reshape(v.shape[0], -1) for _, v in sorted(params.items())], dim=-1)
    _, inv = torch.unique(flat.round(decimals=6), dim=0, return_inverse=True)
    first = torch.stack([torch.nonzero(inv == u)[0, 0] for u in range(int(inv.max()) + 1)])
    return inv, first


def correction_energy(cam: Tensor, dexpr: Tensor) -> Tensor:
    """Squared camera (radians x 10, metres x 100) and expression corrections."""
    return (cam[:, :3] ** 2).sum() * 100.0 + (cam[:, 3:] ** 2).sum() * 1e4 + \
        (dexpr**2).sum() * 0.1


def _photo_weights(cfg: InvertConfig) -> dict[str, float]:
    return {"l1": 1.0, "dssim": cfg.w_ssim, "mask": cfg.w_mask, "offset": cfg.w_offset,
            "scale": cfg.w_scale}


StepCallback = Callable[[Phase, int, dict[str, Tensor]], None]


@dataclass
class _Problem:
    """Everything the inversion energy reads, on one device."""

    prior: HeadPrior
    decoder: UVDecoder
    images: Tensor  # [S,H,W,3]
    masks: Tensor  # [S,H,W,1]
    K: Tensor  # [S,3,3]
    w2c: Tensor  # [S,4,4]
    params: dict[str, Tensor]  # [S,D]
    frame_index: Tensor  # [S] -> unique frame
    first: Tensor  # [U] first image of each unique frame
    shape: Tensor  # [n_shape]
    z: Tensor  # [L] identity code (free in stage 1)
    cam: Tensor  # [S,6] camera corrections (free in stage 1)
    dexpr: Tensor  # [U,E] expression corrections (free in stage 1)
    photo: tuple[Tensor, Tensor] | None = None  # skip-path colours per Gaussian
    ref: dict[str, Any] = field(default_factory=dict)
    calls: int = 0

    def frame_params(self, idx: Tensor) -> dict[str, Tensor]:
        p = {k: v[idx] for k, v in self.params.items()}
        p["shape"] = self.shape.expand(len(idx), -1)
        p["expr"] = p["expr"] + self.dexpr[self.frame_index[idx]]
        return p

    def members(self) -> list[Tensor]:
        return [torch.nonzero(self.frame_index == u)[:, 0] for u in range(len(self.first))]

    def energy(self, stage: Phase) -> dict[str, Tensor]:
        h, w = self.images.shape[1:3]
        p = self.frame_params(self.first)
        g = self.prior(self.z.expand(len(self.first), -1), p, decoder=self.decoder,
                       photo=self.photo).gaussians
        wc = corrected_w2c(self.w2c, self.cam)
        rgb, alpha = render_frames(g, self.members(), self.K, wc, w, h)
        terms = photometric_terms(rgb, alpha, self.images, self.masks)
        terms.update(gaussian_regularisers(g, self.prior.spec.max_offset))
        terms["correction"] = correction_energy(self.cam, self.dexpr)
        if "view" in stage.terms:  # one reference render per step, in turn
            ref = self.ref["items"][self.calls % len(self.ref["items"])]
            self.calls += 1
            gr = self.prior(self.z.expand(1, -1), ref["params"], decoder=self.decoder,
                            photo=self.photo).gaussians
            r = render_head(gr, self.ref["K"], ref["w2c"], w, h)
            terms["view"] = (r.rgb - ref["rgb"]).abs().mean() + \
                (r.alpha - ref["alpha"]).abs().mean()
        return terms


def photo_appearance(prior: HeadPrior, inputs: InversionInputs) -> PhotoAppearance:
    """The inputs unprojected into the prior's UV space (colour, confidence, positions)."""
    return unproject(prior, inputs.images, inputs.masks, inputs.K, inputs.w2c, inputs.params)


def initial_code(prior: HeadPrior, appearance: PhotoAppearance | None) -> Tensor:
    """[L] starting code: the encoder's for these photos, else the mean training code."""
    if appearance is None or prior.encoder is None:
        return prior.mean_latent().clone()
    with torch.no_grad():
        return prior.encode(appearance.encoder_input())[0].detach().clone()


def invert(
    prior: HeadPrior,
    inputs: InversionInputs,
    cfg: InvertConfig,
    callback: StepCallback | None = None,
) -> InversionResult:
    """Pivotal tuning of ``prior`` to ``inputs``; the prior itself is never modified.

    With ``cfg.photo_colours`` the photos' colours reach the Gaussians through the skip path
    in every phase; the code starts at the encoder's (the feed-forward avatar, returned as
    ``feedforward``)."""
    t0 = time.perf_counter()
    dev = prior.device
    params = {k: v.to(dev, torch.float32) for k, v in inputs.params.items()}
    frame_index, first = frame_groups(params)
    n_frames = int(first.shape[0])
    app = photo_appearance(prior, inputs) if cfg.photo_colours else None
    z0 = initial_code(prior, app).to(dev)
    shape = params["shape"].mean(0)
    ff = Avatar(prior, prior.decoder, z0, shape, app)
    t_ff = time.perf_counter() - t0
    pb = _Problem(
        prior=prior, decoder=copy.deepcopy(prior.decoder), images=inputs.images.to(dev),
        masks=inputs.masks.to(dev), K=inputs.K.to(dev), w2c=inputs.w2c.to(dev), params=params,
        frame_index=frame_index.to(dev), first=first.to(dev), shape=shape,
        z=z0.clone(), cam=torch.zeros(len(frame_index), 6, device=dev),
        dexpr=torch.zeros(n_frames, params["expr"].shape[-1], device=dev),
        photo=app.photo() if app is not None else None,
    )
    frozen = [*prior.parameters()]
    flags = [p.requires_grad for p in frozen]
    for p in frozen:
        p.requires_grad_(False)
    groups: dict[str, Tensor | list[Tensor]] = {"latent": pb.z, "camera": pb.cam, "expression": pb.dexpr,
              "decoder": list(pb.decoder.parameters())}
    photo = _photo_weights(cfg)
    weights = photo | {"correction": cfg.w_correction, "view": cfg.view_reg}
    es = EarlyStop(warmup=cfg.early_warmup, patience=cfg.early_patience)
    stage1 = Phase(
        "latent", step_budget(cfg.steps_latent, cfg.steps_per_frame, n_frames), cfg.lr_latent,
        free=("latent", "camera", "expression"), terms=(*photo, "correction"),
        lr_scale={"camera": cfg.lr_camera / cfg.lr_latent,
                  "expression": cfg.lr_expr / cfg.lr_latent},
        early_stop=es,
    )
    stage2 = Phase(
        "decoder", step_budget(cfg.steps_decoder, cfg.steps_per_frame, n_frames),
        cfg.lr_decoder, free=("decoder",), terms=(*photo, "view"), early_stop=es,
    )
    try:
        results = [run_phase(groups, stage1, pb.energy, weights, callback)]
        if cfg.steps_decoder > 0 and results[0].status == "ok":
            with torch.no_grad():
                pb.ref.update(_reference_renders(
                    prior, pb.decoder, pb.z, pb.frame_params(pb.first[:1]), pb.K, pb.w2c,
                    cfg.reference_views, cfg.reference_expressions, pb.images.shape[2],
                    pb.images.shape[1], pb.photo))
            results.append(run_phase(groups, stage2, pb.energy, weights, callback))
    finally:
        for p, f in zip(frozen, flags, strict=True):
            p.requires_grad_(f)
    avatar = Avatar(prior, pb.decoder, pb.z.detach(), pb.shape, app)
    for m in (avatar, ff):
        for p in m.parameters():
            p.requires_grad_(False)
    return InversionResult(
        avatar=avatar, stages=results, camera_delta=pb.cam.detach(),
        expr_delta=pb.dexpr.detach(), frame_index=frame_index.cpu(),
        seconds=time.perf_counter() - t0, feedforward=ff, feedforward_seconds=t_ff,
    )


def probe_expressions(like: Mapping[str, Tensor], n: int, seed: int = 1
                      ) -> list[dict[str, Tensor]]:
    """n fixed, reproducible expressions ([1, D] dicts): random expression coefficients with
    the jaw alternately nearly closed and open; shape, head pose and translation from ``like``
    (its first row)."""
    g = torch.Generator().manual_seed(seed)
    dev = like["expr"].device
    out = []
    for i in range(n):
        p = {k: v[:1].detach().clone() for k, v in like.items()}
        p["expr"] = torch.randn(1, like["expr"].shape[-1], generator=g).to(dev)
        p["jaw_pose"] = torch.zeros_like(p["jaw_pose"])
        p["jaw_pose"][0, 0] = 0.05 + 0.25 * (i % 2)
        p["eyes_pose"] = torch.zeros_like(p["eyes_pose"])
        out.append(p)
    return out


def _reference_renders(prior: HeadPrior, decoder: UVDecoder, z: Tensor,
                       params: dict[str, Tensor], K: Tensor, w2c: Tensor, n_views: int,
                       n_expressions: int, w: int, h: int,
                       photo: tuple[Tensor, Tensor] | None = None) -> dict[str, Any]:
    """Renders of the pre-tuning avatar used by the view-regularisation term: ``n_views``
    cameras around the head at the first input frame, plus the first input camera at
    ``n_expressions`` probe expressions (so tuning on one expression keeps the others)."""
    params = {k: v.detach() for k, v in params.items()}
    z = z.detach()
    g = prior(z.expand(1, -1), params, decoder=decoder, photo=photo).gaussians
    centre = g.means[0].mean(0)
    radius = float(camera_centres(w2c).sub(centre).norm(dim=-1).mean())
    ring = torch.from_numpy(reference_w2c(centre.cpu().numpy().astype(np.float64), radius,
                                          n_views)).float().to(z.device)
    refs: list[dict[str, Any]] = []
    for k in range(n_views):
        refs.append({"params": params, "w2c": ring[k:k + 1]})
    for p in probe_expressions(params, n_expressions):
        refs.append({"params": p, "w2c": w2c[:1]})
    for ref in refs:
        gr = prior(z.expand(1, -1), ref["params"], decoder=decoder, photo=photo).gaussians
        r = render_head(gr, K[:1], ref["w2c"], w, h)
        ref["rgb"], ref["alpha"] = r.rgb, r.alpha
    return {"items": refs, "K": K[:1]}
