"""The landmark detectors: one list that config validation, the CLI, ``--help`` and the
backend summary all read.

An entry is a name, a factory (``TrackConfig`` -> :class:`LandmarkDetector`), an availability
probe (``TrackConfig`` -> :class:`DetectorStatus`, loading no model) and the landmark layout the
detector returns. A new detector is one module defining ``ENTRY = DetectorEntry(...)`` plus one
``DETECTORS.add_lazy(...)`` line below; ``track.detector`` in params.yaml, ``headforge track
detectors``, ``headforge track landmarks --detector`` and :mod:`headforge.backends` then know it.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable

from headforge import backends
from headforge.extensions import ExtensionPoint
from headforge.track.result import N_POINTS, Convention, LandmarkError

if typing.TYPE_CHECKING:
    from headforge.config import TrackConfig
    from headforge.track.base import LandmarkDetector


@dataclasses.dataclass(frozen=True)
class DetectorStatus:
    """Availability of one detector."""

    available: bool
    """True when the detector can be constructed."""
    reason: str
    """Empty when available; otherwise what is missing and how to fix it."""


@dataclasses.dataclass(frozen=True)
class DetectorEntry:
    """One registered landmark detector."""

    name: str
    """Name used by ``track.detector`` and ``--detector``."""
    layout: Convention
    """Landmark layout of its results (``ibug68`` or ``mediapipe478``)."""
    factory: Callable[[TrackConfig], LandmarkDetector]
    """Builds the detector from the track section (loads its model)."""
    probe: Callable[[TrackConfig], DetectorStatus]
    """Whether it can be built here, and the fix when not (loads nothing)."""
    summary: str = ""
    """One line for ``headforge track detectors``."""
    dist: str | None = None
    """pip distribution whose version the backend summary reports."""

    def __post_init__(self) -> None:
        if self.layout not in N_POINTS:
            raise ValueError(f"detector {self.name!r}: layout {self.layout!r} is not one of "
                             f"{sorted(N_POINTS)}")


DETECTORS: ExtensionPoint[DetectorEntry] = ExtensionPoint("landmark detector", "track.detector")
"""Every landmark detector, in the order ``headforge track detectors`` lists them."""

DETECTORS.add_lazy("mediapipe", "headforge.track.detect_mediapipe")
DETECTORS.add_lazy("dlib", "headforge.track.detect_dlib")
DETECTORS.add_lazy("face_alignment", "headforge.track.detect_face_alignment")


def detector_entry(name: str) -> DetectorEntry:
    """The entry called ``name``; :class:`LandmarkError` lists the registered ones."""
    if name not in DETECTORS:
        raise LandmarkError(DETECTORS.unknown_message(name))
    return DETECTORS.get(name)


def make_detector(config: TrackConfig) -> LandmarkDetector:
    """The detector named by ``config.detector``; :class:`LandmarkError` names what is missing."""
    entry = detector_entry(config.detector)
    det = entry.factory(config)
    if det.convention != entry.layout:
        raise LandmarkError(f"detector {entry.name!r} returned {det.convention} points but is "
                            f"registered with layout {entry.layout}: fix its ENTRY")
    return det


def probe_detector(entry: DetectorEntry, config: TrackConfig) -> DetectorStatus:
    """The entry's probe; a probe that raises counts as unavailable (with the error)."""
    try:
        return entry.probe(config)
    except LandmarkError as e:
        return DetectorStatus(False, str(e))
    except Exception as e:  # a probe must never crash the caller
        return DetectorStatus(False, f"probe raised {type(e).__name__}: {e}")


def detectors_available(config: TrackConfig | None = None) -> dict[str, DetectorStatus]:
    """Availability of every registered detector for ``config`` (default settings if None)."""
    from headforge.config import TrackConfig

    cfg = config if config is not None else TrackConfig()
    return {e.name: probe_detector(e, cfg) for e in DETECTORS.entries()}


def _backend_probe(name: str) -> backends.Probe:
    def probe() -> backends.BackendStatus:
        from headforge.config import TrackConfig

        entry = DETECTORS.get(name)
        st = probe_detector(entry, TrackConfig())
        version = backends.dist_version(entry.dist) if entry.dist else None
        return backends.BackendStatus(name, st.available, version, st.reason)

    return probe


def _announce(name: str) -> None:
    backends.register_probe(name)(_backend_probe(name))


DETECTORS.on_change(_announce, backends.unregister_probe)
"""Every detector is also a backend of :mod:`headforge.backends` (``headforge backends``)."""
