"""Synthetic views shown to the identity encoder the way real users' photos come.

For each training target the sampler picks 1..``max_views`` photos of the same identity (any
expression) among the cameras within ``max_angle`` of the face's front, changes their colours
(a per-subject gain, as a different light or camera would, applied to the target too, plus a
smaller per-photo gain, so the views disagree a little), unprojects them
(:func:`headforge.prior.appearance.unproject`) and, with probability ``dropout``, hides them
all (confidence 0: the decoder must also make a head from the code alone).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from headforge.prior.appearance import PhotoAppearance, unproject
from headforge.prior.data import ViewSet
from headforge.prior.model import HeadPrior


@dataclass(frozen=True)
class InputSampling:
    """How the encoder's inputs are drawn."""

    max_views: int = 3
    """Photos per identity: 1..max_views."""
    max_angle: float = 60.0
    """Only cameras within this angle (degrees) of the face's front."""
    dropout: float = 0.2
    """Probability that no photo is seen."""
    jitter: float = 0.15
    """Per-subject colour gain range (+-); per-photo gains get a quarter of it."""


@dataclass
class EncoderBatch:
    """Encoder inputs and skip-path colours for B targets, and the targets' colour gains."""

    encoder_input: Tensor
    """[B, 7, R, R]."""
    photo_color: Tensor
    """[B, N, 3]."""
    photo_conf: Tensor
    """[B, N, 1]."""
    gain: Tensor
    """[B, 3] colour gain applied to the target images."""


def frontal_mask(views: ViewSet, max_angle: float) -> np.ndarray:
    """[M] bool: cameras within ``max_angle`` of the head's front (+z, head rotation
    applied)."""
    from headforge.invert.views import axis_angle_to_matrix, camera_centres

    c = camera_centres(views.w2c.double())
    fwd = axis_angle_to_matrix(views.params["rotation"].double()) @ torch.tensor(
        [0.0, 0.0, 1.0], dtype=torch.float64)
    d = c - views.params["translation"].double()
    cos = (d * fwd).sum(-1) / d.norm(dim=-1).clamp_min(1e-9)
    return (cos >= math.cos(math.radians(max_angle))).numpy()


class InputSampler:
    """Draws user-like inputs for training targets (see the module docstring)."""

    def __init__(self, views: ViewSet, cfg: InputSampling) -> None:
        self.views = views
        self.cfg = cfg
        front = frontal_mask(views, cfg.max_angle)
        subj = views.subject.numpy()
        self.candidates = {}
        for s in np.unique(subj):
            idx = np.nonzero((subj == s) & front)[0]
            self.candidates[int(s)] = idx if len(idx) else np.nonzero(subj == s)[0]

    def sample(self, prior: HeadPrior, subjects: Tensor, gen: torch.Generator) -> EncoderBatch:
        enc, col, conf, gains = [], [], [], []
        for s in subjects.tolist():
            cand = self.candidates[int(s)]
            k = int(torch.randint(1, self.cfg.max_views + 1, (1,), generator=gen))
            pick = cand[torch.randperm(len(cand), generator=gen)[:k].numpy()]
            j = self.cfg.jitter
            gain = 1.0 + (torch.rand(3, generator=gen) * 2 - 1) * j
            per = 1.0 + (torch.rand(len(pick), 1, 1, 3, generator=gen) * 2 - 1) * j / 4
            b = self.views.batch(torch.from_numpy(pick))
            imgs = (b.images.float() * gain * per).clamp(0, 1)
            app: PhotoAppearance = unproject(prior, imgs, b.masks.float(), b.K, b.w2c, b.params)
            if float(torch.rand(1, generator=gen)) < self.cfg.dropout:
                app = app.unseen()
            enc.append(app.encoder_input())
            col.append(app.color)
            conf.append(app.conf)
            gains.append(gain)
        return EncoderBatch(torch.cat(enc), torch.cat(col), torch.cat(conf), torch.stack(gains))
