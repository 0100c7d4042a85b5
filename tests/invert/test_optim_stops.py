"""The stopping rules pivotal tuning adds to headforge.optim: EMA plateau and wall time."""

from __future__ import annotations

import torch

from headforge.optim import EarlyStop, Phase, run_phase


def test_ema_early_stop_ends_a_converged_stage() -> None:
    x = torch.tensor([5.0])

    def energy(stage: Phase) -> dict[str, torch.Tensor]:
        return {"e": (x**2).sum()}

    st = Phase("es", 10_000, 0.5, free=("x",), terms=("e",),
               early_stop=EarlyStop(warmup=10, patience=5, rel_tol=1e-3))
    r = run_phase({"x": x}, st, energy, {"e": 1.0})
    assert r.status == "ok" and r.stopped_early and "EMA" in r.message
    assert 10 < r.steps_run < 10_000 and len(r.history) == r.steps_run
    assert r.final["e"] < 1e-2


def test_time_budget_bounds_the_wall_time() -> None:
    """Driven by a fake clock (one second per reading): exact on any machine load."""
    y = torch.tensor([1.0])
    ticks = iter(range(100))
    st = Phase("t", 10**7, 1e-6, free=("y",), terms=("e",), time_budget=5.0)
    r = run_phase({"y": y}, st, lambda s: {"e": (y**2).sum()}, {"e": 1.0},
                  clock=lambda: float(next(ticks)))
    assert r.stopped_early and r.message == "time budget of 5.0 s reached"
    assert r.steps_run == 5 and r.seconds == 6.0  # read at the start, after each step, at the end


def test_without_stopping_rules_every_step_runs() -> None:
    z = torch.tensor([1.0])
    st = Phase("plain", 30, 0.1, free=("z",), terms=("e",))
    r = run_phase({"z": z}, st, lambda s: {"e": (z**2).sum()}, {"e": 1.0})
    assert r.steps_run == 30 and not r.stopped_early and r.message == ""
