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

from headforge.invert.core import Avatar, InversionInputs, initial_code, photo_appearance
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
