"""Bounds on what a capture may ask of the machine, and the one safe reader of its metadata.

A capture comes from outside; before anything is decoded or parsed its cost is bounded:

* images (and video frames, and given masks) larger than ``ingest.max_image_pixels`` are
  refused from their header, before any pixel is decoded (decompression bombs);
* every JSON/YAML file read from a capture (``capture.yaml``, ``transforms.json``,
  ``calibration/camera_params.json``) goes through :func:`load_json` / :func:`load_yaml`,
  which refuse files over ``ingest.max_metadata_bytes`` before reading them, nesting deeper
  than ``ingest.max_metadata_depth`` before parsing (the parsers recurse), and YAML aliases
  (a few bytes of anchors can expand into an exponentially large document).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from headforge.ingest.errors import CaptureError

PIL_HARD_LIMIT = 2 * 89_478_485
"""Pillow refuses to open images over twice its ``MAX_IMAGE_PIXELS`` (a process-wide setting
this project leaves alone), so a larger ``max_image_pixels`` could never take effect."""


@dataclasses.dataclass(frozen=True)
class InputLimits:
    """The ``max_*`` keys of the ``ingest`` section (see :class:`headforge.config.IngestConfig`)."""

    max_image_pixels: int = 100_000_000
    max_metadata_bytes: int = 8 * 2**20
    max_metadata_depth: int = 32

    def __post_init__(self) -> None:
        if not 4096 <= self.max_image_pixels <= PIL_HARD_LIMIT:
            raise CaptureError(
                f"ingest.max_image_pixels {self.max_image_pixels} is out of range; give a "
                f"value between 4096 and {PIL_HARD_LIMIT} in params.yaml"
            )
        if self.max_metadata_bytes < 1024:
            raise CaptureError(
                f"ingest.max_metadata_bytes {self.max_metadata_bytes} is too small; give at "
                "least 1024 in params.yaml"
            )
        if not 4 <= self.max_metadata_depth <= 500:
            raise CaptureError(
                f"ingest.max_metadata_depth {self.max_metadata_depth} is out of range; give a "
                "value between 4 and 500 in params.yaml"
            )

    @classmethod
    def of(cls, cfg: Any) -> InputLimits:
        """The limits of an :class:`~headforge.config.IngestConfig`."""
        return cls(
            max_image_pixels=int(cfg.max_image_pixels),
            max_metadata_bytes=int(cfg.max_metadata_bytes),
            max_metadata_depth=int(cfg.max_metadata_depth),
        )


DEFAULT_LIMITS = InputLimits()


def check_pixels(path: Path | str, width: int, height: int, limits: InputLimits) -> None:
    """Refuse an image (or video) of ``width x height`` over ``limits.max_image_pixels``."""
    if width * height > limits.max_image_pixels:
        raise CaptureError(
            f"{path}: {width}x{height} is {width * height:,} pixels, over the limit of "
            f"{limits.max_image_pixels:,} (ingest.max_image_pixels); downscale it, or raise "
            "ingest.max_image_pixels in params.yaml if the image is genuine"
        )


def _read_bounded(path: Path, limits: InputLimits) -> str:
    try:
        size = path.stat().st_size
    except OSError as e:
        raise CaptureError(f"{path}: cannot read file ({e}); check it exists") from e
    if size > limits.max_metadata_bytes:
        raise CaptureError(
            f"{path}: {size:,} bytes, over the limit of {limits.max_metadata_bytes:,} for "
            "capture metadata (ingest.max_metadata_bytes); remove unused entries, or raise "
            "the limit in params.yaml"
        )
    try:
        with path.open("rb") as f:
            data = f.read(limits.max_metadata_bytes + 1)
        if len(data) > limits.max_metadata_bytes:  # grew while reading, or not a plain file
            raise CaptureError(
                f"{path}: over the limit of {limits.max_metadata_bytes:,} bytes "
                "(ingest.max_metadata_bytes); give a plain file within the limit"
            )
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CaptureError(f"{path}: not UTF-8 text ({e}); save it as UTF-8") from e
    except OSError as e:
        raise CaptureError(f"{path}: cannot read file ({e}); check permissions") from e


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def bracket_depth(text: str, opening: str = "[{", closing: str = "]}") -> int:
    """Deepest nesting of brackets in ``text`` outside double-quoted strings (vectorised, so
    it is cheap even for a file at the size limit)."""
    stripped = _JSON_STRING.sub("", text)
    if not stripped:
        return 0
    b = np.frombuffer(stripped.encode("utf-8"), dtype=np.uint8)
    step = np.zeros(b.shape, dtype=np.int32)
    for c in opening:
        step[b == ord(c)] = 1
    for c in closing:
        step[b == ord(c)] = -1
    return int(np.cumsum(step).max(initial=0))


def _too_deep(path: Path, depth: int | str, limits: InputLimits) -> CaptureError:
    return CaptureError(
        f"{path}: nested {depth} levels deep, over the limit of {limits.max_metadata_depth} "
        "(ingest.max_metadata_depth); capture metadata needs only a few levels, so re-export "
        "the file"
    )


def load_json(path: Path, limits: InputLimits = DEFAULT_LIMITS) -> Any:
    """Parse a JSON file of a capture within ``limits``; every failure is a CaptureError."""
    text = _read_bounded(path, limits)
    depth = bracket_depth(text)
    if depth > limits.max_metadata_depth:
        raise _too_deep(path, depth, limits)
    try:
        return json.loads(text)
    except RecursionError as e:  # cannot happen below the depth limit; kept as a backstop
        raise _too_deep(path, "too many", limits) from e
    except ValueError as e:  # JSONDecodeError, and integers too long to convert
        raise CaptureError(f"{path}: not valid JSON ({e}); fix or re-export it") from e


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors/aliases (capture files never need them)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise CaptureError(
                f"YAML alias *{event.anchor} at line {event.start_mark.line + 1}: aliases are "
                "not accepted in capture files; write the values out"
            )
        return super().compose_node(parent, index)


def _depth(obj: Any, limit: int, level: int = 1) -> int:
    """Nesting depth of parsed containers, stopping as soon as ``limit`` is passed."""
    if level > limit or not isinstance(obj, dict | list):
        return level if isinstance(obj, dict | list) else level - 1
    children = obj.values() if isinstance(obj, dict) else obj
    return max((_depth(c, limit, level + 1) for c in children), default=level)


def load_yaml(path: Path, limits: InputLimits = DEFAULT_LIMITS) -> Any:
    """Parse a YAML file of a capture within ``limits``; every failure is a CaptureError."""
    text = _read_bounded(path, limits)
    flow_depth = bracket_depth(text)
    if flow_depth > limits.max_metadata_depth:
        raise _too_deep(path, flow_depth, limits)
    try:
        data = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader)
    except CaptureError as e:
        raise CaptureError(f"{path}: {e}") from e
    except RecursionError as e:  # deep block nesting (indentation)
        raise _too_deep(path, "too many", limits) from e
    except yaml.YAMLError as e:
        raise CaptureError(f"{path}: not valid YAML ({e}); fix the syntax") from e
    depth = _depth(data, limits.max_metadata_depth)
    if depth > limits.max_metadata_depth:
        raise _too_deep(path, f"more than {limits.max_metadata_depth}", limits)
    return data
