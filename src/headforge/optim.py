"""Declarative staged optimisation: one generic loop, used by tracking and inversion.

A :class:`Phase` says how many steps to take, at which learning rate, which named parameter
groups are free and which energy terms are minimised. An energy is a function of the stage
returning unweighted terms ``dict[str, Tensor]`` (scalars); the loop weights them with one
``weights`` mapping (the config), sums, and steps Adam on the free groups only.

Optional per stage: EMA early stopping (:class:`EarlyStop`, after a warm-up) and a wall-time
budget, both used by pivotal tuning and the no-prior baseline; every report keeps the weighted
total of each step (``history``).

Non-finite values never leak out: when the total loss or a gradient becomes NaN/inf, the free
parameters are restored to their last finite values, the stage stops, and its
:class:`PhaseReport` says where and which terms broke.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import torch
from torch import Tensor

ParamGroups = Mapping[str, Tensor | Sequence[Tensor]]
EnergyFn = Callable[["Phase"], dict[str, Tensor]]
Status = Literal["ok", "skipped", "non_finite"]


class OptimConfigError(ValueError):
    """A stage names a parameter group or energy term that does not exist."""


@dataclasses.dataclass(frozen=True)
class EarlyStop:
    """Stop a stage once an exponential moving average of its total stops improving."""

    warmup: int = 20
    """Steps run before the criterion is looked at."""
    beta: float = 0.9
    """EMA smoothing: ema = beta * ema + (1 - beta) * total."""
    patience: int = 20
    """Steps without an EMA improvement of at least ``rel_tol`` before stopping."""
    rel_tol: float = 1e-3
    """Relative improvement of the EMA that counts as progress."""


@dataclasses.dataclass(frozen=True)
class Phase:
    """One optimisation stage."""

    name: str
    """Shown in logs and reports."""
    steps: int
    """Adam steps (0 skips the stage)."""
    lr: float
    """Base learning rate."""
    free: tuple[str, ...]
    """Parameter groups optimised in this stage; all others stay fixed."""
    terms: tuple[str, ...]
    """Energy terms summed (each multiplied by its weight) in this stage."""
    lr_scale: Mapping[str, float] = dataclasses.field(default_factory=dict)
    """Per-group learning-rate multipliers (default 1)."""
    schedule: Literal["constant", "cosine"] = "constant"
    """Learning-rate schedule over the stage's steps."""
    early_stop: EarlyStop | None = None
    """Optional EMA early stopping (the stage then ends with status ok and a message)."""
    time_budget: float | None = None
    """Optional wall-clock limit in seconds, checked after every step."""


@dataclasses.dataclass
class PhaseReport:
    """What one stage did."""

    name: str
    """The stage's name."""
    status: Status
    """ok, skipped (0 steps) or non_finite (stopped early, parameters restored)."""
    steps_run: int
    """Steps actually taken."""
    initial: dict[str, float]
    """Unweighted terms before the first step."""
    final: dict[str, float]
    """Unweighted terms after the last step."""
    seconds: float
    """Wall time."""
    message: str = ""
    """Why the stage stopped early (empty when it ran all its steps)."""
    history: list[float] = dataclasses.field(default_factory=list)
    """Weighted total of every step taken."""
    stopped_early: bool = False
    """True when early stopping or the time budget ended the stage."""

    @property
    def final_total(self) -> float:
        return float(sum(self.final.values()))


@dataclasses.dataclass
class OptimResult:
    """Reports of every stage, in order."""

    stages: list[PhaseReport]
    """One report per stage."""

    @property
    def ok(self) -> bool:
        """True when no stage stopped on a non-finite value."""
        return all(s.status != "non_finite" for s in self.stages)

    def summary(self) -> dict[str, object]:
        """JSON-ready summary."""
        return {"ok": self.ok, "stages": [dataclasses.asdict(s) for s in self.stages]}


def _as_list(v: Tensor | Sequence[Tensor]) -> list[Tensor]:
    return [v] if isinstance(v, Tensor) else list(v)


def _weighted_total(terms: dict[str, Tensor], stage: Phase, weights: Mapping[str, float]) -> Tensor:
    total: Tensor | None = None
    for t in stage.terms:
        w = float(weights[t])
        if w == 0.0:
            continue
        v = w * terms[t]
        total = v if total is None else total + v
    if total is None:
        raise OptimConfigError(f"stage {stage.name!r}: every term has weight 0")
    return total


def _check(groups: ParamGroups, stage: Phase, weights: Mapping[str, float]) -> None:
    unknown = [g for g in stage.free if g not in groups]
    if unknown:
        raise OptimConfigError(
            f"stage {stage.name!r} frees unknown group(s) {unknown}; known: {sorted(groups)}"
        )
    no_weight = [t for t in stage.terms if t not in weights]
    if no_weight:
        raise OptimConfigError(
            f"stage {stage.name!r} uses term(s) {no_weight} without a weight; "
            f"add them to the weights config (known: {sorted(weights)})"
        )
    if stage.steps < 0 or not (stage.lr > 0):
        raise OptimConfigError(f"stage {stage.name!r}: steps must be >= 0 and lr > 0")


def _values(terms: dict[str, Tensor], names: Sequence[str]) -> dict[str, float]:
    return {k: float(terms[k].detach()) for k in names}


def run_phase(
    groups: ParamGroups,
    stage: Phase,
    energy: EnergyFn,
    weights: Mapping[str, float],
    callback: Callable[[Phase, int, dict[str, Tensor]], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> PhaseReport:
    """Run one stage in place on the tensors of ``groups`` and report what happened.

    ``clock`` (seconds) measures the stage's ``time_budget`` and elapsed time; tests pass a
    fake one so a budget is exact however busy the machine is."""
    _check(groups, stage, weights)
    t0 = clock()
    all_params = {id(p): p for g in groups.values() for p in _as_list(g)}
    if stage.steps == 0:
        return PhaseReport(stage.name, "skipped", 0, {}, {}, 0.0)
    free = {name: _as_list(groups[name]) for name in stage.free}
    free_params = [p for ps in free.values() for p in ps]
    for p in all_params.values():
        p.requires_grad_(False)
    for p in free_params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(
        [
            {"params": ps, "lr": stage.lr * float(stage.lr_scale.get(n, 1.0))}
            for n, ps in free.items()
        ]
    )
    base_lrs = [g["lr"] for g in opt.param_groups]
    snapshot = [p.detach().clone() for p in free_params]
    status: Status = "ok"
    message = ""
    initial: dict[str, float] = {}
    steps_run = 0
    history: list[float] = []
    ema: float | None = None
    best = math.inf
    since_best = 0
    stopped = False
    try:
        for step in range(stage.steps):
            if stage.schedule == "cosine":
                f = 0.5 * (1.0 + math.cos(math.pi * step / stage.steps))
                for g, lr0 in zip(opt.param_groups, base_lrs, strict=True):
                    g["lr"] = lr0 * (0.05 + 0.95 * f)
            opt.zero_grad(set_to_none=True)
            terms = energy(stage)
            total = _weighted_total(terms, stage, weights)
            if step == 0:
                initial = _values(terms, stage.terms)
            if not torch.isfinite(total):
                bad = [t for t in stage.terms if not torch.isfinite(terms[t]).all()]
                status, message = "non_finite", f"step {step}: non-finite energy in {bad}"
                break
            total.backward()
            bad_groups = [
                n
                for n, ps in free.items()
                if any(p.grad is not None and not torch.isfinite(p.grad).all() for p in ps)
            ]
            if bad_groups:
                status, message = "non_finite", f"step {step}: non-finite gradient of {bad_groups}"
                break
            for s, p in zip(snapshot, free_params, strict=True):
                s.copy_(p.detach())
            opt.step()
            steps_run = step + 1
            history.append(float(total.detach()))
            if callback is not None:
                callback(stage, step, terms)
            if not all(torch.isfinite(p).all() for p in free_params):
                status, message = "non_finite", f"step {step}: parameters became non-finite"
                break
            es = stage.early_stop
            if es is not None:
                ema = history[-1] if ema is None else es.beta * ema + (1 - es.beta) * history[-1]
                if step >= es.warmup:
                    if ema < best * (1.0 - es.rel_tol):
                        best, since_best = ema, 0
                    else:
                        since_best += 1
                if since_best >= es.patience:
                    stopped, message = True, f"early stop at step {steps_run}: EMA plateau"
                    break
            if stage.time_budget is not None and clock() - t0 >= stage.time_budget:
                stopped, message = True, f"time budget of {stage.time_budget:.1f} s reached"
                break
        if status == "non_finite":
            with torch.no_grad():
                for s, p in zip(snapshot, free_params, strict=True):
                    p.copy_(s)
    finally:
        for p in free_params:
            p.requires_grad_(False)
            p.grad = None
    with torch.no_grad():
        final_terms = energy(stage)
    final = {k: v for k, v in _values(final_terms, stage.terms).items()}
    return PhaseReport(
        stage.name, status, steps_run, initial, final, clock() - t0, message,
        history, stopped,
    )


def run_phases(
    groups: ParamGroups,
    stages: Sequence[Phase],
    energy: EnergyFn,
    weights: Mapping[str, float],
    callback: Callable[[Phase, int, dict[str, Tensor]], None] | None = None,
    stop_on_non_finite: bool = True,
) -> OptimResult:
    """Run ``stages`` in order; by default later stages are skipped after a non-finite stop."""
    for s in stages:
        _check(groups, s, weights)
    reports: list[PhaseReport] = []
    for s in stages:
        if stop_on_non_finite and reports and reports[-1].status == "non_finite":
            reports.append(
                PhaseReport(s.name, "skipped", 0, {}, {}, 0.0, "skipped after a non-finite stop")
            )
            continue
        reports.append(run_phase(groups, s, energy, weights, callback))
    return OptimResult(reports)
