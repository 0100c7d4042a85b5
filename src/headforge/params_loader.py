"""Reading ``params.yaml``: profiles, section merging and type-checked dataclass building.

:mod:`headforge.config` holds the section dataclasses and re-exports everything here, so code
imports both from ``headforge.config``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from headforge.paths import project_root

PROFILES = ("tiny", "quality", "paper")

T = TypeVar("T")


class ConfigError(ValueError):
    """A params.yaml problem, with the key and the fix in the message."""


def read_params(path: Path | None = None) -> dict[str, Any]:
    """Parse ``params.yaml`` (default: the project's) into a dict."""
    path = path or project_root() / "params.yaml"
    if not path.is_file():
        raise ConfigError(f"params.yaml not found at {path}: run from the project root")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a mapping of sections")
    return data


def active_profile(params: dict[str, Any]) -> str:
    """The profile named by the top-level ``profile`` key (default ``tiny``)."""
    prof = params.get("profile", "tiny")
    if prof not in PROFILES:
        raise ConfigError(f"profile: {prof!r} is not one of {PROFILES}; set profile: tiny")
    return str(prof)


def section_values(params: dict[str, Any], section: str, profile: str) -> dict[str, Any]:
    """A section's shared keys overlaid with its ``profile`` block."""
    raw = params.get(section, {}) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{section}: must be a mapping")
    merged = {k: v for k, v in raw.items() if k not in PROFILES}
    block = raw.get(profile) or {}
    if not isinstance(block, dict):
        raise ConfigError(f"{section}.{profile}: must be a mapping")
    merged.update(block)
    return merged


def _check_type(section: str, name: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin is typing.Annotated:  # a base type plus checks, e.g. OneOf(an extension point)
        base, *checks = typing.get_args(hint)
        value = _check_type(section, name, value, base)
        for c in checks:
            if hasattr(c, "check"):
                try:
                    value = c.check(value)
                except ValueError as e:
                    raise ConfigError(f"{section}.{name}: {e}") from e
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _check_type(section, name, value, a)
            except ConfigError:
                continue
        raise ConfigError(f"{section}.{name}: {value!r} is not {hint}")
    if origin is typing.Literal:
        if value not in typing.get_args(hint):
            raise ConfigError(f"{section}.{name}: {value!r} must be one of {typing.get_args(hint)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{section}.{name}: expected a list, got {value!r}")
        return list(value) if origin is list else tuple(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{section}.{name}: expected a mapping, got {value!r}")
        return value
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is bool and isinstance(value, bool):
        return value
    if hint is str and isinstance(value, str):
        return value
    raise ConfigError(f"{section}.{name}: {value!r} is not of type {getattr(hint, '__name__', hint)}")


def build(cls: type[T], values: dict[str, Any], section: str) -> T:
    """Instantiate dataclass ``cls`` from ``values``, checking names and types."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"{section}: unknown key(s) {unknown}; known keys are {sorted(fields)}"
        )
    hints = typing.get_type_hints(cls, include_extras=True)
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        if name in values:
            kwargs[name] = _check_type(section, name, values[name], hints[name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{section}.{name}: missing; add it to params.yaml")
    return cls(**kwargs)


def load_section(
    cls: type[T],
    section: str,
    params: dict[str, Any] | None = None,
    profile: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> T:
    """Load one params.yaml section into its dataclass for the active (or given) profile."""
    params = read_params() if params is None else params
    profile = profile or active_profile(params)
    values = section_values(params, section, profile)
    if overrides:
        values.update(overrides)
    return build(cls, values, section)
