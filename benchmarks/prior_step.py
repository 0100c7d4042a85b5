"""Benchmark: where one prior-training step of the ``quality`` profile spends its time.

Times, on a small fixture dataset (``benchmarks/fixtures/synthetic_heads.py``) at the
profile's training resolution, the three parts of a step, each forward and backward:

* ``data``: drawing the identity encoder's inputs (1-3 photos unprojected into UV space);
* ``decoder``: encoder + decoder + placing the Gaussians on the posed mesh, and its backward;
* ``rasterizer``: rendering the batch and its backward (the Gaussians' gradients);

plus the loss. Parts are timed separately by cutting the graph at the placed Gaussians.
Prints one JSON object as its last line (wall and CPU seconds; the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--steps", type=int, default=6, help="steps timed (after one warm-up)")
    ap.add_argument("--profile", default="quality", help="params.yaml profile")
    ap.add_argument("--work", type=Path, default=None, help="keep data here (default: temp)")
    args = ap.parse_args()

    import dataclasses

    import torch

    from benchmarks.fixtures.synthetic_heads import FixtureSpec, cached_dataset
    from headforge.context import parse_params
    from headforge.params_loader import read_params
    from headforge.prior.gaussians import GaussianBatch
    from headforge.prior.losses import gaussian_regularisers, photometric_terms
    from headforge.prior.render import render_head
    from headforge.prior.stage import load_head, synthetic_training_views
    from headforge.prior.train import build_prior
    from headforge.prior.user_inputs import InputSampler, InputSampling

    torch.set_num_threads(args.threads)
    params = parse_params(read_params(ROOT / "params.yaml"), profile=args.profile)
    cfg = dataclasses.replace(params.train_prior, device="cpu")
    work = args.work or Path(tempfile.mkdtemp(prefix="hf-bench-prior-step-"))
    manifest = cached_dataset(work, FixtureSpec(identities=3, expressions=2,
                                                resolution=cfg.resolution, held_out=1,
                                                uv_res=64))
    views, _ = synthetic_training_views(cfg, 1, manifest=manifest)
    head, parts = load_head(params.head_model)
    prior = build_prior(cfg, views.subjects, head, parts)
    sampler = InputSampler(views, InputSampling(cfg.input_views, cfg.input_max_angle,
                                                cfg.appearance_dropout, cfg.color_jitter)) \
        if prior.encoder is not None else None
    gen = torch.Generator().manual_seed(0)
    res = views.resolution
    parts_s: dict[str, list[float]] = {k: [] for k in (
        "data", "decoder_forward", "decoder_backward", "rasterizer_forward",
        "rasterizer_backward", "loss")}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for step in range(args.steps + 1):
        t = [time.perf_counter()]
        idx = torch.randint(len(views), (cfg.batch,), generator=gen)
        batch = views.batch(idx)
        enc_in, photo = None, None
        if sampler is not None:
            eb = sampler.sample(prior, batch.subject, gen)
            enc_in, photo = eb.encoder_input, (eb.photo_color, eb.photo_conf)
        t.append(time.perf_counter())
        z = prior.encode(enc_in) if enc_in is not None else prior.latents[batch.subject]
        out = prior(z, batch.params, photo=photo)
        g = out.gaussians
        leaves = [x.detach().requires_grad_(True) for x in (g.means, g.quats, g.scales,
                                                             g.opacities, g.colors)]
        cut = GaussianBatch(*leaves, g.offsets, g.log_scales)
        t.append(time.perf_counter())
        rs = [render_head(cut.item(i), batch.K[i:i + 1], batch.w2c[i:i + 1], res, res)
              for i in range(cfg.batch)]
        rgb, alpha = torch.cat([r.rgb for r in rs]), torch.cat([r.alpha for r in rs])
        t.append(time.perf_counter())
        terms = photometric_terms(rgb, alpha, batch.images, batch.masks)
        loss = terms["l1"] + cfg.w_ssim * terms["dssim"] + cfg.w_mask * terms["mask"]
        reg = gaussian_regularisers(g, prior.spec.max_offset)
        t.append(time.perf_counter())
        loss.backward()
        t.append(time.perf_counter())
        upstream = sum(((x * leaf.grad).sum() for x, leaf in zip(
            (g.means, g.quats, g.scales, g.opacities, g.colors), leaves, strict=True)),
            torch.zeros(()))
        (upstream + cfg.w_offset * reg["offset"] + cfg.w_scale * reg["scale"]).backward()
        t.append(time.perf_counter())
        prior.zero_grad(set_to_none=True)
        if step == 0:  # warm-up
            cpu0, wall0 = time.process_time(), time.perf_counter()
            continue
        for k, a, b in (("data", 0, 1), ("decoder_forward", 1, 2), ("rasterizer_forward", 2, 3),
                        ("loss", 3, 4), ("rasterizer_backward", 4, 5),
                        ("decoder_backward", 5, 6)):
            parts_s[k].append(t[b] - t[a])
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    mean = {k: sum(v) / len(v) for k, v in parts_s.items()}
    split = {
        "data": mean["data"],
        "decoder": mean["decoder_forward"] + mean["decoder_backward"],
        "rasterizer": mean["rasterizer_forward"] + mean["rasterizer_backward"],
        "loss": mean["loss"],
    }
    print(json.dumps({
        "benchmark": "prior_step",
        "profile": args.profile,
        "threads": args.threads,
        "batch": cfg.batch,
        "resolution": res,
        "uv_res": cfg.uv_res,
        "gaussians": prior.n_gaussians,
        "encoder": prior.encoder is not None,
        "steps_timed": args.steps,
        "step_seconds": round(wall / args.steps, 4),
        "step_cpu_seconds": round(cpu / args.steps, 4),
        "split_seconds": {k: round(v, 4) for k, v in split.items()},
        "split_fraction": {k: round(v / sum(split.values()), 3) for k, v in split.items()},
        "parts_seconds": {k: round(v, 4) for k, v in mean.items()},
        "load_average_1min": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
