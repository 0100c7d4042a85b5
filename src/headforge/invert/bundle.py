"""Avatar bundles on disk: write, load, render, drive.

A bundle folder (``results/invert/<subject>/``) holds:

* ``decoder.pt``: the fine-tuned decoder weights; ``latent.pt``: identity code and shape;
* ``appearance.pt``: the input photos' colours and confidence in UV space (the skip path);
* ``inputs.npz``: the tracking parameters, cameras and corrections used;
* ``avatar.ply``: the Gaussians in the neutral pose (standard 3DGS layout);
* ``renders/``: novel views (``view_XX.png``) and novel expressions (``expr_XX.png``);
* ``turntable.gif``; ``turntable_geometry.gif`` (grey clay, no learned colour: shareable
  when the person's appearance is not); ``baseline.pt``: the no-prior baseline fitted on the same inputs;
* ``card.json``: inputs, steps, wall times, fit metrics, prior checkpoint hash.

The whole folder is written atomically.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from headforge.cameras import orbit_w2c
from headforge.invert.baseline import BaselineResult, FreeGaussians
from headforge.invert.core import Avatar, InversionInputs, InversionResult, probe_expressions
from headforge.invert.views import camera_centres
from headforge.io_utils import atomic_path, sha256_file
from headforge.prior import architectures
from headforge.prior.appearance import PhotoAppearance
from headforge.prior.data import PARAM_KEYS, load_params
from headforge.prior.gaussians import GaussianBatch
from headforge.prior.model import HeadPrior
from headforge.prior.render import render_head

Drivable = Avatar | FreeGaussians


def to_uint8(img: Tensor) -> np.ndarray:
    """[H, W, 3] float in [0, 1] -> uint8 array."""
    return (img.detach().clamp(0, 1).cpu().numpy() * 255.0).round().astype(np.uint8)


def neutral_params(shape: Tensor, like: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Zero expression and pose with ``shape`` ([1, D] each, dims from ``like``)."""
    p = {k: torch.zeros(1, v.shape[-1], device=v.device) for k, v in like.items()}
    p["shape"] = shape.view(1, -1).to(p["shape"].device)
    return p


def head_centre(g: GaussianBatch) -> np.ndarray:
    return g.means[0].mean(0).detach().cpu().numpy().astype(np.float64)


SHADINGS = ("color", "geometry")


def turntable(model: Drivable, params: Mapping[str, Tensor], K: Tensor, radius: float,
              frames: int, res: tuple[int, int], shading: str = "color",
              background: float = 0.0) -> list[np.ndarray]:
    """Frames [H, W, 3] uint8 of a full orbit around the head in ``params``.

    ``shading="geometry"`` draws the Gaussians as grey clay lit through their normals
    (:mod:`headforge.invert.shading`) instead of their learned colours: the avatar's shape
    without the person's appearance. ``background`` is the grey level behind the head."""
    if shading not in SHADINGS:
        raise ValueError(f"turntable shading {shading!r} is not one of {SHADINGS}")
    from headforge.invert.shading import geometry_shaded

    with torch.no_grad():
        g = model.gaussians(params)
        centre = head_centre(g)
        w2c = torch.from_numpy(orbit_w2c(centre, radius, frames, 10.0)).float().to(K.device)
        bg = torch.full((3,), float(background), device=K.device)
        out = []
        for i in range(frames):
            gi = geometry_shaded(g, w2c[i]) if shading == "geometry" else g
            r = render_head(gi, K[:1], w2c[i:i + 1], res[1], res[0], background=bg)
            out.append(to_uint8(r.rgb[0]))
    return out


def save_gif(frames: Sequence[np.ndarray], path: Path, fps: float = 12.0) -> None:
    """Animated GIF with Pillow (loops forever)."""
    if not frames:
        raise ValueError("save_gif: no frames")
    ims = [Image.fromarray(f) for f in frames]
    with atomic_path(path) as tmp:
        ims[0].save(tmp, format="GIF", save_all=True, append_images=ims[1:],
                    duration=int(1000 / fps), loop=0)


def write_ply_neutral(model: Drivable, like: Mapping[str, Tensor], path: Path) -> int:
    """The model's Gaussians in the neutral pose as a 3DGS PLY; returns the count."""
    from headforge.splat.gaussians import GaussianParams
    from headforge.splat.ply import write_ply

    with torch.no_grad():
        g = model.gaussians(neutral_params(model.shape, like))
    c = g.colors[0]
    if c.dim() == 3:  # SH coefficients [N, K, 3]
        params = GaussianParams.from_activated(g.means[0], g.quats[0], g.scales[0],
                                               g.opacities[0], sh=c)
    else:
        params = GaussianParams.from_activated(g.means[0], g.quats[0], g.scales[0],
                                               g.opacities[0], rgb=c)
    write_ply(path, params)
    return int(g.means.shape[1])


def write_bundle(
    out_dir: Path,
    subject: str,
    result: InversionResult,
    inputs: InversionInputs,
    prior_checkpoint: Path,
    baseline: BaselineResult | None = None,
    turntable_frames: int = 24,
    card_extra: Mapping[str, Any] | None = None,
    root: Path | None = None,
) -> Path:
    """Write the avatar bundle of ``subject`` to ``out_dir`` (atomically); the card records the
    prior checkpoint relative to the project ``root``."""
    av = result.avatar
    dev = av.latent.device
    p_in = {k: v.to(dev) for k, v in inputs.params.items()}
    first = {k: v[:1] for k, v in p_in.items()}
    h, w = inputs.resolution
    K = inputs.K.to(dev)
    radius = float(camera_centres(inputs.w2c).norm(dim=-1).mean())
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        torch.save(av.decoder.state_dict(), tmp / "decoder.pt")
        torch.save({"latent": av.latent.detach().cpu(), "shape": av.shape.cpu()},
                   tmp / "latent.pt")
        if av.appearance is not None:
            torch.save(av.appearance.state(), tmp / "appearance.pt")
        np.savez(tmp / "inputs.npz", K=inputs.K.numpy(), w2c=inputs.w2c.numpy(),
                 camera_delta=result.camera_delta.cpu().numpy(),
                 expr_delta=result.expr_delta.cpu().numpy(),
                 frame_index=result.frame_index.numpy(), names=np.array(inputs.names),
                 **{k: v.cpu().numpy() for k, v in inputs.params.items()})
        n_g = write_ply_neutral(av, p_in, tmp / "avatar.ply")
        rd = tmp / "renders"
        rd.mkdir()
        with torch.no_grad():
            centre = head_centre(av.gaussians(first))
        views = torch.from_numpy(orbit_w2c(centre, radius, 8, 10.0)).float().to(dev)
        for i in range(len(views)):
            r = av.render(first, K[:1], views[i:i + 1], w, h)
            Image.fromarray(to_uint8(r.rgb[0])).save(rd / f"view_{i:02d}.png")
        front = views[:1]
        for i, p in enumerate(probe_expressions(first, 4, seed=2)):
            r = av.render(p, K[:1], front, w, h)
            Image.fromarray(to_uint8(r.rgb[0])).save(rd / f"expr_{i:02d}.png")
        save_gif(turntable(av, first, K, radius, turntable_frames, (h, w)), tmp / "turntable.gif")
        save_gif(turntable(av, first, K, radius, turntable_frames, (h, w), shading="geometry",
                           background=1.0), tmp / "turntable_geometry.gif")
        card: dict[str, Any] = {
            "subject": subject,
            "inputs": list(inputs.names),
            "n_inputs": int(inputs.images.shape[0]),
            "resolution": [h, w],
            "n_gaussians": n_g,
            "prior_checkpoint": {"path": _portable(prior_checkpoint, root),
                                 "sha256": sha256_file(prior_checkpoint)},
            "stages": [{"name": s.name, "status": s.status, "steps": s.steps_run,
                        "stopped_early": s.stopped_early, "message": s.message,
                        "seconds": s.seconds, "first_loss": s.history[0] if s.history else None,
                        "final_loss": s.history[-1] if s.history else None}
                       for s in result.stages],
            "wall_seconds": result.seconds,
            "feedforward_seconds": result.feedforward_seconds,
            "photo_colours": av.appearance is not None,
        }
        if baseline is not None:
            torch.save({"raw": baseline.model.raw.detach().cpu(),
                        "shape": baseline.model.shape.cpu()}, tmp / "baseline.pt")
            st = baseline.stage
            card["baseline"] = {"steps": st.steps_run, "seconds": st.seconds,
                                "first_loss": st.history[0] if st.history else None,
                                "final_loss": st.history[-1] if st.history else None}
        card.update(card_extra or {})
        (tmp / "card.json").write_text(json.dumps(card, indent=2))
    return out_dir


def _portable(path: Path, root: Path | None) -> str:
    """``path`` relative to the project ``root`` when it lies inside it (bundles stay movable);
    without a root, relative to the project holding the checkpoint's ``results/`` folder."""
    p = Path(path).resolve()
    if root is None:
        root = next((a.parent for a in p.parents if a.name == "results"), None)
        if root is None:
            return str(p)  # no project to be relative to: keep the absolute path
    root = Path(root).resolve()
    return str(p.relative_to(root)) if p.is_relative_to(root) else str(p)


@dataclass
class LoadedBundle:
    avatar: Avatar
    baseline: FreeGaussians | None
    card: dict[str, Any]
    inputs: dict[str, np.ndarray]


def load_bundle(bundle_dir: Path, prior: HeadPrior) -> LoadedBundle:
    """Rebuild the avatar (and baseline, when present) of a bundle on ``prior``'s device."""
    bundle_dir = Path(bundle_dir)
    card_path = bundle_dir / "card.json"
    if not card_path.is_file():
        raise FileNotFoundError(f"{bundle_dir} is not an avatar bundle (no card.json): run "
                                "`headforge invert run` first")
    dev = prior.device
    dec = architectures.build_decoder(prior.spec.architecture, prior.spec.decoder).to(dev)
    dec.load_state_dict(torch.load(bundle_dir / "decoder.pt", map_location=dev))
    lat = torch.load(bundle_dir / "latent.pt", map_location=dev)
    app = None
    if (bundle_dir / "appearance.pt").is_file():
        app = PhotoAppearance.from_state(
            torch.load(bundle_dir / "appearance.pt", map_location=dev)).to(dev)
    avatar = Avatar(prior, dec, lat["latent"], lat["shape"], app)
    for p in avatar.parameters():
        p.requires_grad_(False)
    base = None
    if (bundle_dir / "baseline.pt").is_file():
        b = torch.load(bundle_dir / "baseline.pt", map_location=dev)
        base = FreeGaussians(prior, b["shape"])
        with torch.no_grad():
            base.raw.copy_(b["raw"])
        base.raw.requires_grad_(False)
    with np.load(bundle_dir / "inputs.npz", allow_pickle=False) as z:
        inputs = {k: z[k] for k in z.files}
    return LoadedBundle(avatar=avatar, baseline=base, card=json.loads(card_path.read_text()),
                        inputs=inputs)


def load_sequence(params_dir: Path) -> tuple[list[str], dict[str, Tensor]]:
    """All ``*.npz`` frames of a tracked sequence folder, sorted by name -> (names, [T, D])."""
    params_dir = Path(params_dir)
    files = sorted(params_dir.glob("*.npz"))
    if not files:
        raise FileNotFoundError(f"no .npz parameter files in {params_dir}: point --params at a "
                                "tracked sequence (results/track/<subject>/flame_params)")
    frames = [load_params(f) for f in files]
    return [f.stem for f in files], {
        k: torch.from_numpy(np.stack([fr[k] for fr in frames])) for k in PARAM_KEYS}


def drive(model: Drivable, sequence: Mapping[str, Tensor], K: Tensor, w2c: Tensor,
          res: tuple[int, int]) -> list[np.ndarray]:
    """Render ``model`` under each frame of a driving sequence ([T, D] parameters; the
    avatar's own shape is kept, expression and pose come from the driver) -> uint8 frames."""
    t = sequence["expr"].shape[0]
    frames = []
    for i in range(t):
        p = {k: v[i:i + 1].to(K.device, torch.float32) for k, v in sequence.items()}
        r = model.render(p, K[:1], w2c[:1], res[1], res[0])
        frames.append(to_uint8(r.rgb[0]))
    return frames
