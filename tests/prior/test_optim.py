from __future__ import annotations

import hashlib

import pytest
import torch

from headforge.optim import EarlyStop, ParamGroup, Stage, run_stages, total_energy


def _digest(t: torch.Tensor) -> str:
    return hashlib.sha256(t.detach().numpy().tobytes()).hexdigest()


def test_stages_free_only_their_tensors_and_reduce_the_energy() -> None:
    a = torch.zeros(3)
    b = torch.ones(3)
    target = torch.tensor([1.0, -2.0, 3.0])

    def energy(step: int, stage: Stage) -> dict[str, torch.Tensor]:
        return {"fit": ((a + b - target) ** 2).sum(), "small": (a**2).sum()}

    hb = _digest(b)
    s1 = Stage("a-only", 200, [ParamGroup("a", [a], 0.1)], frozen=[b],
               weights={"small": 0.0})
    r1 = run_stages([s1], energy)[0]
    assert _digest(b) == hb  # frozen tensor untouched
    assert r1.final_loss < 1e-3 < r1.history[0]["loss"]
    assert not b.requires_grad and not a.requires_grad  # flags restored


def test_early_stop_and_time_budget() -> None:
    x = torch.tensor([5.0])

    def energy(step: int, stage: Stage) -> dict[str, torch.Tensor]:
        return {"e": (x**2).sum()}

    s = Stage("es", 10_000, [ParamGroup("x", [x], 0.5)],
              early_stop=EarlyStop(warmup=10, patience=5, rel_tol=1e-3))
    r = run_stages([s], energy)[0]
    assert r.stopped_early and r.steps_run < 10_000
    y = torch.tensor([1.0])
    r2 = run_stages([Stage("t", 10**7, [ParamGroup("y", [y], 1e-6)], time_budget=0.05)],
                    lambda i, st: {"e": (y**2).sum()})[0]
    assert r2.out_of_time and r2.seconds < 2.0


def test_total_energy_names_unknown_weights() -> None:
    with pytest.raises(KeyError, match="weights name terms"):
        total_energy({"a": torch.tensor(1.0)}, {"b": 1.0})
