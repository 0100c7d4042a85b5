"""One generic optimisation loop driven by declarative stages (STYLE.md section 8).

A :class:`Stage` lists how many steps it runs, which tensors it frees (each group with its own
learning rate), which tensors it must leave untouched, the weights of the energy terms, and
optional early stopping / wall-time budgets. An *energy* is a function ``(step, stage) ->
dict[str, Tensor]`` of unweighted scalar terms; the loop weights them with ``stage.weights``
(missing weight = 1.0), sums, back-propagates and steps one Adam optimiser.

Tracking and both phases of pivotal tuning run through :func:`run_stages`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass(frozen=True)
class ParamGroup:
    """Tensors freed together with one learning rate."""

    name: str
    """Label used in logs."""
    params: Sequence[Tensor]
    """Leaf tensors to optimise."""
    lr: float
    """Adam learning rate of this group."""


@dataclass(frozen=True)
class EarlyStop:
    """Stop a stage once an exponential moving average of the loss stops improving."""

    warmup: int = 20
    """Steps run before the criterion is looked at."""
    beta: float = 0.9
    """EMA smoothing: ema = beta * ema + (1 - beta) * loss."""
    patience: int = 20
    """Steps without an EMA improvement of at least ``rel_tol`` before stopping."""
    rel_tol: float = 1e-3
    """Relative improvement of the EMA that counts as progress."""


@dataclass(frozen=True)
class Stage:
    """One phase of an optimisation: its budget, its free tensors and its energy weights."""

    name: str
    """Stage label (logs, results)."""
    steps: int
    """Maximum number of steps."""
    groups: Sequence[ParamGroup]
    """Tensors freed in this stage."""
    frozen: Sequence[Tensor] = ()
    """Tensors that must not change (``requires_grad`` is switched off while the stage runs)."""
    weights: Mapping[str, float] = field(default_factory=dict)
    """Energy term weights; a term without a weight counts with 1.0, weight 0 drops it."""
    early_stop: EarlyStop | None = None
    """Optional EMA early stopping."""
    time_budget: float | None = None
    """Optional wall-clock limit in seconds (checked after every step)."""
    lr_final_ratio: float = 1.0
    """Learning rates decay exponentially to ``lr * lr_final_ratio`` at the last step."""
    grad_clip: float | None = None
    """Clip the global gradient norm of the freed tensors to this value."""


@dataclass
class StageResult:
    """What a stage did."""

    name: str
    steps_run: int
    stopped_early: bool
    out_of_time: bool
    final_loss: float
    seconds: float
    history: list[dict[str, float]]
    """Per step: ``loss`` (weighted total) and each unweighted term."""


Energy = Callable[[int, Stage], dict[str, Tensor]]
StepCallback = Callable[[Stage, int, dict[str, float]], None]


def total_energy(terms: Mapping[str, Tensor], weights: Mapping[str, float]) -> Tensor:
    """Weighted sum of scalar terms (weight 1.0 when unspecified, 0 skips the term)."""
    unknown = sorted(set(weights) - set(terms))
    if unknown:
        raise KeyError(f"weights name terms the energy does not return: {unknown}; "
                       f"terms are {sorted(terms)}")
    out: Tensor | None = None
    for k, v in terms.items():
        w = float(weights.get(k, 1.0))
        if w == 0.0:
            continue
        if v.dim() != 0:
            raise ValueError(f"energy term {k!r} must be a scalar, got shape {tuple(v.shape)}")
        out = v * w if out is None else out + v * w
    if out is None:
        raise ValueError("every energy term has weight 0: nothing to optimise")
    return out


def run_stage(stage: Stage, energy: Energy, callback: StepCallback | None = None) -> StageResult:
    """Run one stage of Adam on its freed tensors; frozen tensors get no gradient."""
    if stage.steps < 0:
        raise ValueError(f"stage {stage.name}: steps must be >= 0, got {stage.steps}")
    free = [p for g in stage.groups for p in g.params]
    free_ids = {id(p) for p in free}
    for p in stage.frozen:
        if id(p) in free_ids:
            raise ValueError(f"stage {stage.name}: a tensor is both freed and frozen")
    saved = [(p, p.requires_grad) for p in (*stage.frozen, *free)]
    for p in stage.frozen:
        p.requires_grad_(False)
    for p in free:
        p.requires_grad_(True)
    opt = torch.optim.Adam(
        [{"params": list(g.params), "lr": g.lr, "name": g.name} for g in stage.groups if g.params]
    )
    base_lrs = [pg["lr"] for pg in opt.param_groups]
    gamma = stage.lr_final_ratio ** (1.0 / max(stage.steps - 1, 1))
    history: list[dict[str, float]] = []
    ema: float | None = None
    best = math.inf
    since_best = 0
    stopped = out_of_time = False
    t0 = time.perf_counter()
    step = 0
    try:
        for step in range(stage.steps):
            for pg, lr0 in zip(opt.param_groups, base_lrs, strict=True):
                pg["lr"] = lr0 * gamma**step
            opt.zero_grad(set_to_none=True)
            terms = energy(step, stage)
            loss = total_energy(terms, stage.weights)
            loss.backward()
            if stage.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(free, stage.grad_clip)
            opt.step()
            rec = {"loss": float(loss.detach())}
            rec.update({k: float(v.detach()) for k, v in terms.items()})
            history.append(rec)
            if callback is not None:
                callback(stage, step, rec)
            if stage.early_stop is not None:
                es = stage.early_stop
                ema = rec["loss"] if ema is None else es.beta * ema + (1 - es.beta) * rec["loss"]
                if step >= es.warmup:
                    if ema < best * (1.0 - es.rel_tol):
                        best, since_best = ema, 0
                    else:
                        since_best += 1
                        if since_best >= es.patience:
                            stopped = True
                            break
            if stage.time_budget is not None and time.perf_counter() - t0 >= stage.time_budget:
                out_of_time = True
                break
    finally:
        for p, rg in saved:
            p.requires_grad_(rg)
    return StageResult(
        name=stage.name,
        steps_run=len(history),
        stopped_early=stopped,
        out_of_time=out_of_time,
        final_loss=history[-1]["loss"] if history else math.nan,
        seconds=time.perf_counter() - t0,
        history=history,
    )


def run_stages(
    stages: Sequence[Stage], energy: Energy, callback: StepCallback | None = None
) -> list[StageResult]:
    """Run stages in order with the same energy function."""
    return [run_stage(s, energy, callback) for s in stages]
