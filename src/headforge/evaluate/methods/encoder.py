"""The feed-forward avatar: the identity encoder's code and the photos' colours, no
per-subject optimisation (:func:`headforge.invert.feedforward.feedforward_avatar`).

Budget keys: ``photo_colours`` (1: the photos' colours reach the Gaussians through the skip
path, the default; 0: the code alone). A prior trained without an encoder gives its mean code
here, so the row then measures the prior's average head with the photos' colours.
"""

from __future__ import annotations

import torch

from headforge.evaluate.methods import Fitted, MethodEnv
from headforge.invert.feedforward import feedforward_avatar
from headforge.invert.stage import SubjectInputs


def fit(env: MethodEnv, chosen: SubjectInputs) -> Fitted:
    torch.manual_seed(0)
    with torch.no_grad():
        res = feedforward_avatar(env.prior, chosen.inputs,
                                 photo_colours=bool(env.budget.get("photo_colours", 1)))
    return Fitted(res.avatar, 0, {"encoder": env.prior.encoder is not None,
                                  "feedforward_seconds": round(res.seconds, 3)})
