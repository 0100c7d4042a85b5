"""The methods the benchmark compares: one module each, one line in :data:`METHODS`.

A method module defines ``fit(env: MethodEnv, chosen: SubjectInputs) -> Fitted``: an avatar
from the chosen input frames within the method's budget (``env.budget``, from
``benchmark.budgets.<name>``). The runner times each call (wall and process CPU seconds), so a
method does not time itself. Adding a method: a module here and a line below.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headforge.config import InvertConfig
from headforge.invert.bundle import Drivable
from headforge.invert.stage import SubjectInputs
from headforge.prior.model import HeadPrior

METHODS: dict[str, str] = {
    "prior": "headforge.evaluate.methods.prior",
    "baseline": "headforge.evaluate.methods.baseline",
    "encoder": "headforge.evaluate.methods.encoder",
}
"""method name -> module with its ``fit`` (the one list of methods)."""


@dataclasses.dataclass(frozen=True)
class MethodEnv:
    """What every method gets."""

    prior: HeadPrior
    """The trained prior, frozen."""
    checkpoint: Path
    """Its checkpoint file."""
    invert: InvertConfig
    """The ``invert`` section at the benchmark's resolution."""
    budget: dict[str, float]
    """This method's ``benchmark.budgets`` entry."""
    work: Path
    """A folder the method may write into (deleted with the benchmark's work folder)."""


@dataclasses.dataclass
class Fitted:
    """A fitted avatar and what to record about the fit."""

    model: Drivable
    steps: int
    """Optimisation steps run (0 for a feed-forward method)."""
    info: dict[str, Any] = dataclasses.field(default_factory=dict)


FitFn = Callable[[MethodEnv, SubjectInputs], Fitted]


def get_method(name: str) -> FitFn:
    """The ``fit`` of method ``name``; the error lists the registered ones."""
    if name not in METHODS:
        raise KeyError(f"unknown method {name!r}: registered methods are {sorted(METHODS)} "
                       "(headforge.evaluate.methods.METHODS)")
    fit: FitFn = importlib.import_module(METHODS[name]).fit
    return fit
