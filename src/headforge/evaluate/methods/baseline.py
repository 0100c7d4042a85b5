"""The no-prior baseline: free Gaussians on the tracked head mesh, fitted to the inputs.

Budget key: ``steps`` (a step budget, not wall time, so that the score of a budget does not
depend on the machine's load; the table reports each method's wall and CPU time).
"""

from __future__ import annotations

import torch

from headforge.evaluate.methods import Fitted, MethodEnv
from headforge.invert.baseline import fit_baseline
from headforge.invert.stage import SubjectInputs


def fit(env: MethodEnv, chosen: SubjectInputs) -> Fitted:
    steps = int(env.budget.get("steps", 0))
    if steps < 1:
        raise ValueError("benchmark.budgets.baseline.steps must be >= 1 (the baseline's "
                         "optimisation steps)")
    torch.manual_seed(0)
    res = fit_baseline(env.prior, chosen.inputs, env.invert, seconds=1e9, max_steps=steps)
    return Fitted(res.model, res.stage.steps_run, {"final_loss": res.stage.history[-1]
                                                   if res.stage.history else None})
