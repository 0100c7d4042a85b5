"""Decoder architectures: one registry the config, checkpoints and the CLI read.

A checkpoint records the architecture's name and its spec (a dataclass); loading looks the
name up here and rebuilds the decoder from the spec. Adding an architecture is one new module
(its spec dataclass, derived from :class:`~headforge.prior.network.DecoderSpec`, and an
``nn.Module`` mapping ``(z [B, L], expr [B, E], expr_map [B, 3, R, R])`` to
:class:`~headforge.prior.network.GaussianMaps`) plus one line in :data:`BUILTIN`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from headforge.prior.network import DecoderSpec, UVDecoder


@dataclass(frozen=True)
class Architecture:
    """A decoder architecture: its name, spec type and factory."""

    name: str
    """Name recorded in checkpoints and set as ``train_prior.architecture``."""
    spec_type: type[DecoderSpec]
    """Spec dataclass (a DecoderSpec or a subclass with extra fields)."""
    build: Callable[[Any], nn.Module]
    """spec -> decoder module."""
    summary: str
    """One line for ``--help`` and error messages."""


BUILTIN = (
    Architecture("uv_cnn", DecoderSpec, UVDecoder,
                 "MLP to a 4x4 grid, upsampling CNN to UV maps with positional and "
                 "expression-offset maps at every level, a learned mean map"),
)
"""The architectures that ship (one line each)."""

ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in BUILTIN}
"""Name -> architecture; :func:`register` adds to it."""

DEFAULT = "uv_cnn"


def register(arch: Architecture) -> Architecture:
    """Add (or replace) an architecture; returns it."""
    ARCHITECTURES[arch.name] = arch
    return arch


def unregister(name: str) -> None:
    """Remove an architecture added by :func:`register` (tests)."""
    if name in {a.name for a in BUILTIN}:
        raise ValueError(f"{name!r} ships with headforge and cannot be removed")
    ARCHITECTURES.pop(name, None)


def get(name: str) -> Architecture:
    """The architecture called ``name``, or an error listing the known ones."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(f"{a.name} ({a.summary})" for a in ARCHITECTURES.values())
        raise ValueError(f"unknown decoder architecture {name!r}: set "
                         f"train_prior.architecture to one of: {known}") from None


def names() -> tuple[str, ...]:
    return tuple(ARCHITECTURES)


def spec_from_dict(name: str, d: Mapping[str, Any]) -> DecoderSpec:
    """Rebuild an architecture's spec from a checkpoint's dict (unknown keys refused)."""
    spec_type = get(name).spec_type
    fields = {f.name for f in dataclasses.fields(spec_type)}
    extra = sorted(set(d) - fields)
    if extra:
        raise ValueError(f"checkpoint decoder spec has keys {extra} that architecture "
                         f"{name!r} does not know: the checkpoint was written by another "
                         "version; retrain with train_prior")
    return spec_type(**dict(d))


def build_decoder(name: str, spec: DecoderSpec) -> nn.Module:
    """A fresh decoder of architecture ``name``."""
    arch = get(name)
    if not isinstance(spec, arch.spec_type):
        raise TypeError(f"architecture {name!r} takes a {arch.spec_type.__name__}, "
                        f"got {type(spec).__name__}")
    return arch.build(spec)
