"""The project context: one object every stage entry takes.

``Context.load(root)`` reads ``<root>/params.yaml`` once, validates every section against its
dataclass (an unknown key or a wrong type stops here, naming the key), and carries the root,
the resolved device and the stage folders. Nothing below a stage entry reads ``params.yaml``
or the working directory: it is handed a :class:`Context` (or the sections it needs).

Adding a params section is one dataclass in :mod:`headforge.config` plus one line in
:data:`SECTIONS` and one field in :class:`Params`.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headforge.config import (
    AdaptPriorConfig,
    EvaluateConfig,
    HeadModelConfig,
    IngestConfig,
    InvertConfig,
    PathsConfig,
    RegenerateConfig,
    RenderConfig,
    RetentionConfig,
    SynthConfig,
    TrackConfig,
    TrainPriorConfig,
)
from headforge.params_loader import ConfigError, active_profile, build, read_params, section_values
from headforge.paths import project_root
from headforge.render_settings import configure as configure_render

if TYPE_CHECKING:  # torch is imported on first use: the consent/forget CLI stays light
    import torch

SECTIONS: dict[str, type] = {
    "paths": PathsConfig,
    "head_model": HeadModelConfig,
    "render": RenderConfig,
    "synth": SynthConfig,
    "ingest": IngestConfig,
    "track": TrackConfig,
    "train_prior": TrainPriorConfig,
    "adapt_prior": AdaptPriorConfig,
    "invert": InvertConfig,
    "evaluate": EvaluateConfig,
    "retention": RetentionConfig,
    "regenerate": RegenerateConfig,
}
"""params.yaml section name -> its dataclass (the one list config validation reads)."""

TOP_LEVEL_KEYS = frozenset({"profile"})
"""Keys of params.yaml that are not sections."""


@dataclasses.dataclass(frozen=True)
class Params:
    """Every params.yaml section, validated, for the active profile."""

    paths: PathsConfig
    head_model: HeadModelConfig
    render: RenderConfig
    synth: SynthConfig
    ingest: IngestConfig
    track: TrackConfig
    train_prior: TrainPriorConfig
    adapt_prior: AdaptPriorConfig
    invert: InvertConfig
    evaluate: EvaluateConfig
    retention: RetentionConfig
    regenerate: RegenerateConfig


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available (the local rank's GPU under torchrun), else CPU."""
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return torch.device("cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device is {name!r} but torch sees no CUDA device: "
                          "set train_prior.device: auto or cpu")
    return dev


def parse_params(raw: dict[str, Any], overrides: dict[str, dict[str, Any]] | None = None,
                 profile: str | None = None) -> Params:
    """Validate a parsed params.yaml (plus per-section ``overrides``) into :class:`Params`."""
    unknown = sorted(set(raw) - set(SECTIONS) - TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(f"params.yaml: unknown section(s) {unknown}; known sections are "
                          f"{sorted(SECTIONS)}")
    prof = profile or active_profile(raw)
    built: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        values = section_values(raw, name, prof)
        values.update((overrides or {}).get(name, {}))
        built[name] = build(cls, values, name)
    return Params(**built)


@dataclasses.dataclass(frozen=True)
class Context:
    """Root, validated params and device of one project checkout."""

    root: Path
    params: Params
    profile: str
    device_name: str
    """``train_prior.device`` (or the override): resolved by :attr:`device` on first use."""

    @property
    def device(self) -> torch.device:
        """The torch device to compute on (``auto``: CUDA when available, else CPU)."""
        return resolve_device(self.device_name)

    @classmethod
    def load(cls, root: Path | str | None = None,
             overrides: dict[str, dict[str, Any]] | None = None,
             device: str | None = None, profile: str | None = None) -> Context:
        """Read ``<root>/params.yaml`` (default: the project around the working directory).

        ``overrides`` maps section -> {key: value} (a CLI option, a test); ``device`` overrides
        ``train_prior.device``; ``profile`` the top-level ``profile`` key.
        """
        base = Path(root).resolve() if root is not None else project_root()
        raw = read_params(base / "params.yaml")
        prof = active_profile({"profile": profile} if profile else raw)
        params = parse_params(raw, overrides, prof)
        ctx = cls(root=base, params=params, profile=prof,
                  device_name=device or params.train_prior.device)
        return ctx.activate()

    def activate(self) -> Context:
        """Apply the process-wide settings (the ``render`` section) in this process: a task
        running in another process (a Dask worker) calls it first."""
        configure_render(self.params.render.backend, self.params.render.tile_size)
        return self

    def data(self, stage: str) -> Path:
        """``<root>/data/<stage>``."""
        return self.root / "data" / stage

    def results(self, stage: str) -> Path:
        """``<root>/results/<stage>``."""
        return self.root / "results" / stage

    def path(self, rel: str | Path) -> Path:
        """A params path (relative to the root unless absolute)."""
        p = Path(rel)
        return p if p.is_absolute() else self.root / p

    def registry(self) -> Any:
        """The consent/lineage registry: ``$HEADFORGE_REGISTRY_URL`` or ``paths.registry_url``
        (a :class:`headforge.privacy.Registry`; use it as a context manager)."""
        from headforge.privacy.registry import REGISTRY_URL_ENV, Registry

        url = os.environ.get(REGISTRY_URL_ENV) or self.params.paths.registry_url
        return Registry.from_url(url, self.root)

    def with_overrides(self, **sections: dict[str, Any]) -> Context:
        """A copy with some section keys replaced (validated like params.yaml)."""
        params = self.params
        for name, values in sections.items():
            if name not in SECTIONS:
                raise ConfigError(f"unknown section {name!r}; known sections are "
                                  f"{sorted(SECTIONS)}")
            current = dataclasses.asdict(getattr(params, name))
            current.update(values)
            params = dataclasses.replace(params, **{name: build(SECTIONS[name], current, name)})
        return dataclasses.replace(self, params=params)
