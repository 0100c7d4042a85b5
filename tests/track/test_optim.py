"""The generic staged optimisation loop (headforge.optim)."""

from __future__ import annotations

import pytest
import torch

from headforge.optim import OptimConfigError, Phase, run_phases


def _line_problem() -> tuple[dict[str, torch.Tensor], object]:
    x = torch.linspace(-1, 1, 50)
    y = 3.0 * x - 0.5
    params = {"slope": torch.zeros(()), "offset": torch.zeros(())}

    def energy(stage: Phase) -> dict[str, torch.Tensor]:
        r = params["slope"] * x + params["offset"] - y
        return {"data": (r**2).mean(), "prior": params["slope"] ** 2}

    return params, energy


def test_stages_free_only_their_groups_and_converge() -> None:
    params, energy = _line_problem()
    stages = [
        Phase("offset_only", steps=200, lr=0.05, free=("offset",), terms=("data",)),
        Phase(
            "both",
            steps=400,
            lr=0.05,
            free=("slope", "offset"),
            terms=("data", "prior"),
            schedule="cosine",
        ),
    ]
    seen: list[tuple[str, float]] = []

    def cb(stage: Phase, step: int, terms: dict[str, torch.Tensor]) -> None:
        seen.append((stage.name, float(params["slope"].detach())))

    res = run_phases(params, stages, energy, {"data": 1.0, "prior": 0.0}, callback=cb)
    assert res.ok and [s.status for s in res.stages] == ["ok", "ok"]
    assert all(slope == 0.0 for name, slope in seen if name == "offset_only")
    assert abs(float(params["slope"]) - 3.0) < 1e-2 and abs(float(params["offset"]) + 0.5) < 1e-2
    assert res.stages[1].final["data"] < 1e-4 < res.stages[1].initial["data"]
    assert not params["slope"].requires_grad


def test_weights_change_the_optimum() -> None:
    params, energy = _line_problem()
    st = [Phase("s", 400, 0.05, ("slope", "offset"), ("data", "prior"))]
    run_phases(params, st, energy, {"data": 1.0, "prior": 10.0})
    assert float(params["slope"]) < 1.0  # a strong prior pulls the slope toward 0


def test_non_finite_energy_restores_and_reports() -> None:
    p = {"a": torch.tensor(1.0)}

    def energy(stage: Phase) -> dict[str, torch.Tensor]:
        a = p["a"]
        # finite while a < 1.5; the step that crosses it makes the next energy NaN
        broken = torch.tensor(float("nan")) if float(a.detach()) >= 1.5 else torch.tensor(0.0)
        return {"e": -a + broken}

    res = run_phases(
        p,
        [Phase("s", 100, 0.2, ("a",), ("e",)), Phase("t", 5, 0.1, ("a",), ("e",))],
        energy,
        {"e": 1.0},
    )
    assert not res.ok
    s, t = res.stages
    assert s.status == "non_finite" and "non-finite energy in ['e']" in s.message
    assert 0 < s.steps_run < 100
    assert torch.isfinite(p["a"]) and float(p["a"]) < 1.5  # restored to the last finite value
    assert t.status == "skipped" and "non-finite" in t.message


def test_bad_stage_configs_are_named() -> None:
    params, energy = _line_problem()
    with pytest.raises(OptimConfigError, match="unknown group"):
        run_phases(params, [Phase("s", 1, 0.1, ("nope",), ("data",))], energy, {"data": 1.0})
    with pytest.raises(OptimConfigError, match="without a weight"):
        run_phases(params, [Phase("s", 1, 0.1, ("slope",), ("prior",))], energy, {"data": 1.0})
    res = run_phases(params, [Phase("s", 0, 0.1, ("slope",), ("data",))], energy, {"data": 1.0})
    assert res.stages[0].status == "skipped"
