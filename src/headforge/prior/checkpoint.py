"""Prior checkpoints on disk: write atomically, read with one clear error, rebuild the model.

A checkpoint is a ``torch.save`` dict: ``format``, ``spec`` (:class:`PriorSpec` as a dict,
with the decoder architecture's name and spec, rebuilt through
:mod:`headforge.prior.architectures`), ``decoder``/``encoder`` weights, ``latents``, ``step``
and whatever the caller adds (optimiser state, history, run key, base). Format 1 (before the
architecture registry and the encoder) still loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from headforge.context import resolve_device
from headforge.io_utils import atomic_path
from headforge.morphable import MorphableHead
from headforge.prior.model import HeadPrior, PriorSpec

__all__ = ["CHECKPOINT_FORMAT", "load_checkpoint", "prior_from_checkpoint", "resolve_device",
           "save_checkpoint"]

CHECKPOINT_FORMAT = 2
READABLE_FORMATS = (1, 2)
_OPTIONAL_DECODER_KEYS = ("residual.",)
"""Decoder weights a format-1 checkpoint lacks; they start at their (neutral) init."""


def save_checkpoint(path: Path, prior: HeadPrior, step: int, extra: dict[str, Any],
                    dtype: torch.dtype | None = None) -> Path:
    """Atomically write a checkpoint (model spec + weights + ``extra``); ``dtype`` (e.g.
    ``torch.float16``) stores floating weights smaller."""

    def cast(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: (v.detach().cpu().to(dtype) if dtype is not None and v.is_floating_point()
                    else v.detach().cpu()) for k, v in sd.items()}

    state = {
        "format": CHECKPOINT_FORMAT,
        "spec": prior.spec.to_dict(),
        "decoder": cast(prior.decoder.state_dict()),
        "encoder": cast(prior.encoder.state_dict()) if prior.encoder is not None else None,
        "latents": cast({"l": prior.latents})["l"],
        "step": step,
        **extra,
    }
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors on CPU)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"prior checkpoint not found at {path}: run train_prior first")
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(ck, dict) or ck.get("format") not in READABLE_FORMATS:
        raise ValueError(f"{path} is not a headforge prior checkpoint (formats "
                         f"{READABLE_FORMATS}); retrain with train_prior")
    return ck


def prior_from_checkpoint(ck: dict[str, Any], head: MorphableHead, part_names: Sequence[str]
                          ) -> HeadPrior:
    """Rebuild a prior (its architecture from the registry) from a loaded checkpoint."""
    spec = PriorSpec.from_dict(ck["spec"])
    prior = HeadPrior(spec, head, tuple(part_names))
    dec = {k: v.float() if v.is_floating_point() else v for k, v in ck["decoder"].items()}
    missing, unexpected = prior.decoder.load_state_dict(dec, strict=False)
    bad = [k for k in missing if not k.startswith(_OPTIONAL_DECODER_KEYS)] + list(unexpected)
    if bad:
        raise ValueError(f"checkpoint decoder weights do not fit architecture "
                         f"{spec.architecture!r} ({bad[:4]}): retrain with train_prior")
    if prior.encoder is not None:
        if not ck.get("encoder"):
            raise ValueError("checkpoint spec names an encoder but holds no encoder weights: "
                             "retrain with train_prior")
        prior.encoder.load_state_dict({k: v.float() for k, v in ck["encoder"].items()})
    with torch.no_grad():
        prior.latents.copy_(ck["latents"].float())
    return prior
