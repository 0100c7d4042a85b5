"""Process-wide rasterizer settings from params.yaml's ``render`` section.

:meth:`headforge.context.Context.activate` sets them; :func:`headforge.splat.render.rasterize`
reads them whenever a call does not pass its own ``backend`` / ``tile_size``. This module
imports nothing heavy, so setting them never loads torch.
"""

from __future__ import annotations

from typing import Any

BACKENDS = ("auto", "torch", "gsplat", "reference", "reference_sequential")

_current: dict[str, Any] = {"backend": "auto", "tile_size": None}


def configure(backend: str = "auto", tile_size: int | None = None) -> None:
    """Set the default backend and tile size of every later render in this process."""
    if backend not in BACKENDS:
        raise ValueError(f"render.backend must be one of {BACKENDS}, got {backend!r}")
    if tile_size is not None and tile_size < 1:
        raise ValueError(f"render.tile_size must be positive, got {tile_size}")
    _current.update(backend=backend, tile_size=tile_size)


def configured() -> dict[str, Any]:
    """The current defaults (``backend``, ``tile_size``)."""
    return dict(_current)
