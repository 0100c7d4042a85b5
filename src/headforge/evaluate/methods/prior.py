"""The tuned prior avatar: pivotal tuning of the trained prior to the inputs.

Budget keys: any ``invert`` key (``steps_latent``, ``steps_decoder``, ``steps_per_frame``,
...); the rest come from the ``invert`` section.
"""

from __future__ import annotations

import dataclasses
import re

from headforge.evaluate.methods import Fitted, MethodEnv
from headforge.invert.bundle import load_bundle
from headforge.invert.stage import SubjectInputs, invert_subject
from headforge.params_loader import build


def fit(env: MethodEnv, chosen: SubjectInputs) -> Fitted:
    values = dataclasses.asdict(env.invert)
    values.update(env.budget)
    values["turntable_frames"] = 2  # the bundle's turntables are not scored: keep them short
    cfg = build(type(env.invert), values, "benchmark.budgets.prior")
    name = re.sub(r"[^A-Za-z0-9_-]", "_", "-".join(chosen.inputs.names))[:80]
    out = env.work / "prior" / name
    invert_subject(env.prior, chosen, cfg, out, "benchmark", env.checkpoint, baseline=False)
    b = load_bundle(out, env.prior)
    steps = sum(int(s["steps"]) for s in b.card["stages"])
    return Fitted(b.avatar, steps, {"stages": [{k: s[k] for k in ("name", "steps", "seconds")}
                                               for s in b.card["stages"]],
                                    "fit_seconds": b.card["wall_seconds"]})
