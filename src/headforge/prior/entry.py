"""The ``train_prior`` and ``adapt_prior`` stages' entries (the DVC flows and ``headforge prior``
call these).

``train_prior(ctx)`` trains or resumes ``results/train_prior/base`` on the synthetic identities
(held-out ones excluded); ``adapt_prior(ctx)`` rebuilds ``results/train_prior/adapted`` from the
base prior on the tracked real subjects with an active ``train_prior`` consent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from headforge.context import Context
from headforge.prior.adapt import AdaptOutcome, run_adaptation
from headforge.prior.stage import train_base
from headforge.prior.train import TrainCallback, TrainResult


def train_prior(ctx: Context, callbacks: Sequence[TrainCallback] = (),
                manifest: Path | None = None) -> TrainResult:
    """Train (or resume) the base prior; ``manifest`` overrides ``data/synth``'s."""
    p = ctx.params
    return train_base(p.train_prior, p.head_model, p.evaluate.held_out, ctx.root,
                      callbacks=callbacks, manifest=manifest)


def adapt_prior(ctx: Context,
                callbacks_for: Callable[[Path], Sequence[TrainCallback]] | None = None
                ) -> AdaptOutcome:
    """Consent-checked adaptation of the base prior, with its lineage record."""
    p = ctx.params
    with ctx.registry() as reg:
        return run_adaptation(p.train_prior, p.adapt_prior, p.head_model, ctx.root, reg,
                              callbacks_for)
