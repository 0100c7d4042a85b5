"""Training loop of the prior: auto-decoder over identities, resumable, optionally DDP.

``train(cfg, views, out_dir, ...)`` fits a :class:`HeadPrior` to multi-view images of several
identities. Every ``checkpoint_every`` steps it writes ``checkpoints/last.pt`` atomically with
the model, optimiser, step, loss history and the batch sampler's RNG state, so a killed run
restarted with the same arguments continues exactly where the last checkpoint left off. The
final model goes to ``prior.pt`` (no optimiser state) with ``train_metrics.json`` beside it.

Two levels: the *base* prior trains on synthetic identities; an *adaptation* starts from a base
checkpoint (``base_checkpoint=``), gets fresh latents for its own (real, consented) subjects at
the base mean, and is written to its own folder, so forgetting a real subject only retrains the
adaptation.

Progress goes to :class:`TrainCallback` objects (the Prefect task plugs dvclive in there; the
library imports no logger). Under ``torchrun`` (WORLD_SIZE > 1) the step runs under
DistributedDataParallel (NCCL on GPUs, gloo on CPU): every rank draws its own ``batch`` views
(seed + rank), gradients are averaged, so one step sees ``batch x world`` views; only rank 0
calls the callbacks and writes files, checkpoints keep every rank's sampler state, and all
ranks wait for rank 0's final files before returning.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from headforge.config import TrainPriorConfig
from headforge.io_utils import sha256_bytes, sha256_file, write_text_atomic
from headforge.morphable import MorphableHead
from headforge.prior import architectures
from headforge.prior.checkpoint import (
    CHECKPOINT_FORMAT,
    load_checkpoint,
    prior_from_checkpoint,
    resolve_device,
    save_checkpoint,
)
from headforge.prior.data import ViewSet
from headforge.prior.encoder import EncoderSpec
from headforge.prior.losses import LPIPS, gaussian_regularisers, photometric_terms, psnr
from headforge.prior.model import HeadPrior, PriorSpec
from headforge.prior.render import render_head
from headforge.prior.user_inputs import InputSampler, InputSampling

__all__ = ["CHECKPOINT_FORMAT", "TrainCallback", "TrainResult", "build_prior",
           "load_checkpoint", "prior_from_checkpoint", "resolve_device", "run_key",
           "save_checkpoint", "train"]


class TrainCallback:
    """Receives progress; override what you need."""

    def on_step(self, step: int, metrics: dict[str, float]) -> None:
        """After optimiser step ``step`` (1-based count of steps done)."""

    def on_checkpoint(self, step: int, path: Path) -> None:
        """After a checkpoint at ``step`` was written to ``path``."""


@dataclass
class TrainResult:
    """What a training run produced."""

    checkpoint: Path
    """The final ``prior.pt``."""
    steps: int
    """Total steps done (including those before a resume)."""
    resumed_from: int | None
    """Step of the checkpoint this run resumed from, if any."""
    history: list[dict[str, float]] = field(repr=False)
    """Per step: loss terms, ``loss``, ``psnr``, ``step``."""
    seconds: float
    """Wall time of this process's run."""
    n_gaussians: int
    """Gaussians per head."""
    last_step_seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of the last step's parts: data (encoder inputs), decode, rasterize, loss,
    backward (which includes the rasterizer's and decoder's backward passes)."""


def build_prior(cfg: TrainPriorConfig, subjects: Sequence[str], head: MorphableHead,
                part_names: Sequence[str], head_model: dict[str, Any] | None = None) -> HeadPrior:
    """A fresh prior sized by ``cfg`` with one latent per subject."""
    expr_dim = int(head.n_expr) + 3 + 6 if cfg.expr_global else 0  # expr, jaw, two eyes
    arch = architectures.get(cfg.architecture)
    spec = PriorSpec(
        decoder=arch.spec_type(latent_dim=cfg.latent_dim, expr_dim=expr_dim,
                               uv_res=cfg.uv_res, channels=cfg.channels,
                               sh_degree=cfg.sh_degree),
        subjects=tuple(subjects), face_density=cfg.face_density,
        hair_density=cfg.hair_density, max_offset=cfg.max_offset,
        head_model=dict(head_model or {}), architecture=cfg.architecture,
        encoder=EncoderSpec(cfg.latent_dim, cfg.uv_res, cfg.encoder_channels)
        if cfg.encoder else None,
    )
    return HeadPrior(spec, head, tuple(part_names))


class _Step(nn.Module):
    """The differentiable part of a step, as one module so DDP can wrap it."""

    def __init__(self, prior: HeadPrior) -> None:
        super().__init__()
        self.prior = prior

    def forward(self, subject: Tensor, params: dict[str, Tensor],
                enc_in: Tensor | None = None,
                photo: tuple[Tensor, Tensor] | None = None) -> Any:
        if enc_in is not None and self.prior.encoder is not None:
            z = self.prior.encoder(enc_in)
        else:
            z = self.prior.latents[subject]
        if photo is None:  # nothing seen: the skip path passes the decoder's colour through
            # (it still runs, so every parameter gets a gradient, as DDP requires)
            n = self.prior.n_gaussians
            zero = torch.zeros(1, n, 1, device=z.device)
            photo = (zero.expand(-1, -1, 3), zero)
        return self.prior(z, params, photo=photo), z


def _ddp_setup(step_mod: _Step, device: torch.device) -> tuple[nn.Module, int, int, bool]:
    """(module to step, rank, world size, whether this call started the process group)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return step_mod, 0, 1, False
    import torch.distributed as dist  # guarded: only under torchrun

    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    ddp = nn.parallel.DistributedDataParallel(
        step_mod, device_ids=[device.index] if device.type == "cuda" else None)
    return ddp, dist.get_rank(), world, owns


def _gather_rng(gen: torch.Generator, world: int) -> list[Tensor]:
    """Every rank's batch-sampler state, in rank order (a collective under DDP)."""
    if world <= 1:
        return [gen.get_state()]
    import torch.distributed as dist

    states: list[Any] = [None] * world
    dist.all_gather_object(states, gen.get_state())
    return states


def _finite_everywhere(loss: Tensor, world: int) -> bool:
    """Whether the loss is finite on every rank (a collective under DDP: a rank that stopped
    alone would leave the others waiting in the next all-reduce until the group times out)."""
    ok = bool(torch.isfinite(loss.detach()).all())
    if world <= 1:
        return ok
    import torch.distributed as dist

    flag = torch.tensor([1.0 if ok else 0.0], device=loss.device)
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag.item() > 0)


def _ddp_finish(world: int, owns: bool) -> None:
    """Wait until rank 0 has written its files (an adaptation on every rank reads the base
    checkpoint next), then close the process group if :func:`_ddp_setup` opened it."""
    if world <= 1:
        return
    import torch.distributed as dist

    dist.barrier()
    if owns:
        dist.destroy_process_group()


def train(
    cfg: TrainPriorConfig,
    views: ViewSet,
    out_dir: Path,
    head: MorphableHead,
    part_names: Sequence[str],
    *,
    steps: int | None = None,
    lr: float | None = None,
    base_checkpoint: Path | None = None,
    callbacks: Sequence[TrainCallback] = (),
    head_model: dict[str, Any] | None = None,
) -> TrainResult:
    """Train (or resume, or adapt) a prior on ``views``; see the module docstring.

    ``steps``/``lr`` override ``cfg.steps``/``cfg.lr`` (the adaptation uses
    ``adapt_prior.steps``/``adapt_prior.lr``).
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    total = cfg.steps if steps is None else steps
    lr_dec = cfg.lr if lr is None else lr
    if total < 1:
        raise ValueError(f"train_prior steps must be >= 1, got {total}")
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    head = head.to(device)
    base_info: dict[str, Any] | None = None
    if base_checkpoint is not None:
        base = load_checkpoint(Path(base_checkpoint))
        base_prior = prior_from_checkpoint(base, head, part_names)
        spec = dataclasses.replace(base_prior.spec, subjects=tuple(views.subjects))
        prior = HeadPrior(spec, head, tuple(part_names))
        prior.decoder.load_state_dict(base_prior.decoder.state_dict())
        if prior.encoder is not None and base_prior.encoder is not None:
            prior.encoder.load_state_dict(base_prior.encoder.state_dict())
        with torch.no_grad():
            prior.latents.copy_(base_prior.mean_latent().expand_as(prior.latents))
        # the path relative to the output folder: the record (and the run key) survives a
        # moved checkout and names no machine's directories
        rel_base = os.path.relpath(Path(base_checkpoint).resolve(), Path(out_dir).resolve())
        base_info = {"path": Path(rel_base).as_posix(), "sha256": sha256_file(base_checkpoint),
                     "subjects": list(base_prior.spec.subjects)}
    else:
        prior = build_prior(cfg, views.subjects, head, part_names, head_model)
    prior = prior.to(device)
    step_mod, rank, world, owns_group = _ddp_setup(_Step(prior), device)
    # per-texel maps (mean head, positional code) learn at the latent rate: each texel gets
    # gradient from few pixels, the CNN weights from all of them
    texel = [p for n, p in prior.decoder.named_parameters() if n in ("mean_map", "pos")]
    ids = {id(p) for p in texel}
    nets = [p for p in prior.decoder.parameters() if id(p) not in ids]
    if prior.encoder is not None:
        nets += list(prior.encoder.parameters())
    opt = torch.optim.Adam([
        {"params": nets, "lr": lr_dec},
        {"params": [prior.latents, *texel], "lr": cfg.lr_latent},
    ])
    sampler = InputSampler(views, InputSampling(
        cfg.input_views, cfg.input_max_angle, cfg.appearance_dropout, cfg.color_jitter)) \
        if prior.encoder is not None else None
    base_lrs = [lr_dec, cfg.lr_latent]
    gen = torch.Generator().manual_seed(cfg.seed + 7919 * rank)
    history: list[dict[str, float]] = []
    start = 0
    resumed_from: int | None = None
    last = out_dir / "checkpoints" / "last.pt"
    key = run_key(cfg, prior.spec.to_dict(), total, lr_dec, base_info, world)
    # a run finished with another number of processes (torchrun on a GPU box, then
    # `dvc repro` in one process) is reused as it is; an unfinished one is only resumed by the
    # same world size (the batches per step depend on it)
    key_any = run_key(cfg, prior.spec.to_dict(), total, lr_dec, base_info, 0)
    ck = load_checkpoint(last) if last.is_file() else None
    finished_elsewhere = ck is not None and ck.get("run_key_any_world") == key_any and \
        int(ck["step"]) >= total
    trained_world = int(ck.get("world", world)) if ck is not None and finished_elsewhere \
        else world
    if ck is not None and (ck.get("run_key") == key or finished_elsewhere):
        prior.decoder.load_state_dict(ck["decoder"])
        if prior.encoder is not None:
            prior.encoder.load_state_dict(ck["encoder"])
        with torch.no_grad():
            prior.latents.copy_(ck["latents"])
        opt.load_state_dict(ck["optimizer"])
        rngs = ck.get("rng_ranks") or [ck["rng"]]
        gen.set_state(rngs[rank] if rank < len(rngs) else ck["rng"])
        history = list(ck["history"])
        start = resumed_from = int(ck["step"])
    # a checkpoint of another configuration or data is not this run's: start over
    lpips = LPIPS(cfg.lpips_weights)
    weights = {"l1": cfg.w_l1, "dssim": cfg.w_ssim, "mask": cfg.w_mask,
               "offset": cfg.w_offset, "scale": cfg.w_scale, "latent": cfg.w_latent,
               "lpips": cfg.w_lpips if lpips.available else 0.0}
    gamma = cfg.lr_final_ratio ** (1.0 / max(total - 1, 1))
    res = views.resolution
    timing: dict[str, float] = {}
    for step in range(start, total):
        for pg, lr0 in zip(opt.param_groups, base_lrs, strict=True):
            pg["lr"] = lr0 * gamma**step
        idx = torch.randint(len(views), (cfg.batch,), generator=gen)
        batch = views.batch(idx).to(device)
        t_data = time.perf_counter()
        images = batch.images.float()
        enc_in, photo = None, None
        if sampler is not None:
            eb = sampler.sample(prior, batch.subject.cpu(), gen)
            enc_in, photo = eb.encoder_input.to(device), (eb.photo_color.to(device),
                                                          eb.photo_conf.to(device))
            images = (images * eb.gain.to(device)[:, None, None, :]).clamp(0, 1)
        t_dec = time.perf_counter()
        out, z = step_mod(batch.subject, batch.params, enc_in, photo)
        t_ras = time.perf_counter()
        rgbs, alphas = [], []
        for i in range(cfg.batch):
            r = render_head(out.gaussians.item(i), batch.K[i:i + 1], batch.w2c[i:i + 1],
                            res, res)
            rgbs.append(r.rgb)
            alphas.append(r.alpha)
        rgb, alpha = torch.cat(rgbs), torch.cat(alphas)
        t_loss = time.perf_counter()
        terms = photometric_terms(rgb, alpha, images, batch.masks.float())
        terms.update(gaussian_regularisers(out.gaussians, prior.spec.max_offset))
        terms["latent"] = z.pow(2).sum(-1).mean()
        if lpips.available:
            terms["lpips"] = lpips(rgb, images)
        loss = sum(terms[k] * w for k, w in weights.items() if w and k in terms)
        assert isinstance(loss, Tensor)
        if not _finite_everywhere(loss, world):  # every rank raises, none is left waiting
            if world > 1 and owns_group:
                import torch.distributed as dist

                dist.destroy_process_group()
            value = float(loss.detach())
            where = (f" on at least one of {world} ranks (rank {rank}'s loss: {value})"
                     if world > 1 else f" ({value})")
            raise FloatingPointError(f"train_prior: the loss is not finite at step {step}{where}; "
                                     "lower train_prior.lr")
        t_back = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        t_end = time.perf_counter()
        rec = {k: float(v.detach()) for k, v in terms.items()}
        rec.update(loss=float(loss.detach()), psnr=psnr(rgb.detach(), images),
                   step=float(step + 1))
        timing.update(data=t_dec - t_data, decode=t_ras - t_dec, rasterize=t_loss - t_ras,
                      loss=t_back - t_loss, backward=t_end - t_back)
        history.append(rec)
        due = (step + 1) % cfg.checkpoint_every == 0 or step + 1 == total
        # every rank's sampler state goes into the checkpoint, so a resumed DDP run draws the
        # same batches per rank as the uninterrupted one
        rngs = _gather_rng(gen, world) if due else []
        if rank == 0:
            for cb in callbacks:
                cb.on_step(step + 1, rec)
            if due:
                save_checkpoint(last, prior, step + 1, {
                    "optimizer": opt.state_dict(), "rng": gen.get_state(), "rng_ranks": rngs,
                    "history": history, "base": base_info, "run_key": key,
                    "run_key_any_world": key_any, "world": world,
                })
                for cb in callbacks:
                    cb.on_checkpoint(step + 1, last)
    done = len(history)
    final = out_dir / "prior.pt"
    if rank == 0 and done == total:
        save_checkpoint(final, prior, done, {"base": base_info, "history": history})
        summary = {
            "steps": done, "resumed_from": resumed_from,
            "final_loss": _tail_mean(history, "loss"), "final_psnr": _tail_mean(history, "psnr"),
            "first_loss": history[0]["loss"], "n_gaussians": prior.n_gaussians,
            "gaussians_per_part": prior.part_counts(), "subjects": list(views.subjects),
            "seconds_this_run": time.perf_counter() - t0, "world_size": trained_world,
            "base": base_info,
        }
        write_text_atomic(out_dir / "train_metrics.json", json.dumps(summary, indent=2))
    _ddp_finish(world, owns_group)
    return TrainResult(checkpoint=final, steps=done, resumed_from=resumed_from,
                       history=history, seconds=time.perf_counter() - t0,
                       n_gaussians=prior.n_gaussians, last_step_seconds=timing)


def run_key(cfg: TrainPriorConfig, spec: dict[str, Any], steps: int, lr: float,
            base: dict[str, Any] | None, world: int) -> str:
    """Hash of everything that makes a checkpoint resumable by this run."""
    c = dataclasses.asdict(cfg)
    c.pop("checkpoint_every")
    blob = json.dumps({"cfg": c, "spec": spec, "steps": steps, "lr": lr,
                       "base": base and base["sha256"], "world": world}, sort_keys=True)
    return sha256_bytes(blob.encode())


def _tail_mean(history: list[dict[str, float]], key: str, frac: float = 0.1) -> float:
    n = max(1, math.ceil(len(history) * frac))
    vals = [h[key] for h in history[-n:]]
    return sum(vals) / len(vals)
