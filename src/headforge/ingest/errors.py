"""Errors raised while reading and validating a capture."""

from __future__ import annotations


class CaptureError(ValueError):
    """A capture cannot be ingested. The message names the offending file and the fix."""
