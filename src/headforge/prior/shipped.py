"""Priors that ship inside the package, so a fresh clone makes avatars without training.

``src/headforge/prior/shipped/<name>.pt`` is a checkpoint stored in float16 (weights only);
``<name>.json`` beside it is its recipe: the params it was trained with, the code commit, the
synthetic data's hash, the training curve, its size and SHA-256, and the licence of the weights
(the project's own: they were trained on synthetic heads only and hold no personal data).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from headforge.io_utils import sha256_file, write_text_atomic
from headforge.prior.checkpoint import load_checkpoint, prior_from_checkpoint, save_checkpoint
from headforge.prior.model import HeadPrior
from headforge.prior.stage import load_head

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"
MAX_BYTES = 25 * 1024 * 1024
"""A shipped prior stays under 25 MB."""


def shipped_names() -> list[str]:
    """Names of the shipped priors (``<name>.pt`` with a ``<name>.json`` recipe)."""
    return sorted(p.stem for p in SHIPPED_DIR.glob("*.pt") if p.with_suffix(".json").is_file())


def shipped_checkpoint(name: str = "quality", folder: Path = SHIPPED_DIR) -> Path:
    """The checkpoint of a shipped prior, checked against its recipe's SHA-256."""
    path = folder / f"{name}.pt"
    if not path.is_file():
        raise FileNotFoundError(f"no shipped prior {name!r} (known: {shipped_names()}); "
                                "train one with train_prior")
    want = recipe(name, folder)["sha256"]
    got = sha256_file(path)
    if got != want:
        raise ValueError(f"shipped prior {path.name} has SHA-256 {got[:12]}..., its recipe "
                         f"says {want[:12]}...: restore the file from git")
    return path


def recipe(name: str = "quality", folder: Path = SHIPPED_DIR) -> dict[str, Any]:
    """The recipe JSON of a shipped prior."""
    data: dict[str, Any] = json.loads((folder / f"{name}.json").read_text())
    return data


def load_shipped(name: str = "quality", device: str = "cpu") -> HeadPrior:
    """A shipped prior, frozen, on ``device``."""
    from headforge.config import HeadModelConfig
    from headforge.invert.stage import load_prior

    return load_prior(shipped_checkpoint(name), HeadModelConfig(**_head_cfg(name)), device)


def _head_cfg(name: str) -> dict[str, Any]:
    ck = load_checkpoint(SHIPPED_DIR / f"{name}.pt")
    return dict(ck["spec"].get("head_model") or {})


def export(checkpoint: Path, name: str, info: dict[str, Any], out_dir: Path = SHIPPED_DIR
           ) -> Path:
    """Write ``checkpoint`` as shipped prior ``name`` (float16 weights, no optimiser state) with
    its recipe (``info`` plus size and SHA-256); refuses past :data:`MAX_BYTES`."""
    from headforge.config import HeadModelConfig

    ck = load_checkpoint(checkpoint)
    head, parts = load_head(HeadModelConfig(**dict(ck["spec"].get("head_model") or {})))
    prior = prior_from_checkpoint(ck, head, parts)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = save_checkpoint(out_dir / f"{name}.pt", prior, int(ck["step"]), {},
                           dtype=torch.float16)
    size = path.stat().st_size
    if size > MAX_BYTES:
        path.unlink()
        raise ValueError(f"the prior is {size / 2**20:.1f} MB in float16, over the "
                         f"{MAX_BYTES / 2**20:.0f} MB a shipped prior may take: shrink "
                         "train_prior.channels or latent_dim")
    rec = {**info, "file": path.name, "bytes": size, "sha256": sha256_file(path),
           "dtype": "float16", "steps": int(ck["step"])}
    write_text_atomic(out_dir / f"{name}.json", json.dumps(rec, indent=2))
    return path
