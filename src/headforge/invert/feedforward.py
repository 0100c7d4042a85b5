"""The feed-forward avatar: 1-3 photos -> an avatar, with no per-subject optimisation.

The photos are unprojected into the prior's UV space (:mod:`headforge.prior.appearance`), the
identity encoder maps them (with the tracked shape's neutral positions) to a code, and the
prior's own decoder renders that code with the photos' colours blended in through the skip
path. This is the avatar a user sees seconds after their photos are tracked, and the start of
pivotal tuning (:func:`headforge.invert.core.invert`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from headforge.invert.bundle import to_uint8
from headforge.invert.core import Avatar, InversionInputs, initial_code, photo_appearance
from headforge.io_utils import atomic_path
from headforge.prior.appearance import PhotoAppearance
from headforge.prior.model import HeadPrior


@dataclass
class FeedForwardResult:
    """A feed-forward avatar and what it took."""

    avatar: Avatar
    appearance: PhotoAppearance
    seconds: float
    """Wall time: unprojection + encoder."""


def feedforward_avatar(prior: HeadPrior, inputs: InversionInputs,
                       photo_colours: bool = True) -> FeedForwardResult:
    """An avatar of the subject in ``inputs`` from one encoder pass (the prior is not
    modified; without an encoder the code is the prior's mean code). ``photo_colours=False``
    leaves the photos' colours out of the Gaussians (the code alone)."""
    t0 = time.perf_counter()
    app = photo_appearance(prior, inputs)
    z = initial_code(prior, app)
    shape = inputs.params["shape"].float().mean(0).to(prior.device)
    avatar = Avatar(prior, prior.decoder, z, shape, app if photo_colours else None)
    for p in avatar.parameters():
        p.requires_grad_(False)
    return FeedForwardResult(avatar=avatar, appearance=app, seconds=time.perf_counter() - t0)


def preview_image(result: FeedForwardResult, inputs: InversionInputs) -> np.ndarray:
    """The photos (top row) above the feed-forward avatar rendered in each photo's camera,
    pose and expression (bottom row): uint8 [2H, S*W, 3]."""
    imgs = inputs.images
    s, h, w = imgs.shape[:3]
    dev = result.avatar.shape.device
    rows = [[to_uint8(imgs[i]) for i in range(s)], []]
    with torch.no_grad():
        for i in range(s):
            p = {k: v[i:i + 1].to(dev) for k, v in inputs.params.items()}
            out = result.avatar.render(p, inputs.K[i:i + 1].to(dev), inputs.w2c[i:i + 1].to(dev),
                                       w, h)
            rows[1].append(to_uint8(out.rgb[0]))
    return np.concatenate([np.concatenate(r, axis=1) for r in rows], axis=0)


def write_preview(prior: HeadPrior, inputs: InversionInputs, path: Path) -> float:
    """Write :func:`preview_image` of the feed-forward avatar to ``path`` (PNG, written to a
    temporary file and renamed); returns the seconds it took (encoder + renders)."""
    t0 = time.perf_counter()
    img = preview_image(feedforward_avatar(prior, inputs), inputs)
    with atomic_path(path) as tmp:
        Image.fromarray(img).save(tmp, format="PNG")
    return time.perf_counter() - t0
