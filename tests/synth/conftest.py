"""Shared fixtures of the synth tests: the built-in head model and a posed identity."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the Blender-side package `blender/` (numpy parts are testable)
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def head_model():
    from headforge.morphable import load_head_model

    return load_head_model().eval()


@pytest.fixture(scope="session")
def part_names() -> tuple[str, ...]:
    from headforge.morphable import PART_NAMES

    return tuple(PART_NAMES)


@pytest.fixture(scope="session")
def neutral_head(head_model, part_names):
    """HeadRegions of the mean head (Blender-side asset input)."""
    from blender.assets import HeadRegions

    return HeadRegions(head_model.v_template.numpy().astype(np.float64),
                       head_model.faces.numpy(), head_model.part_labels.numpy(), part_names)
