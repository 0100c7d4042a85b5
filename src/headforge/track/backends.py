"""Which landmark detectors can run here, detected once (no model is loaded)."""

from __future__ import annotations

import dataclasses
import importlib.util

from headforge.track.result import LandmarkError


@dataclasses.dataclass(frozen=True)
class DetectorStatus:
    """Availability of one detector."""

    available: bool
    """True when the detector can be constructed."""
    reason: str
    """Empty when available; otherwise what is missing and how to fix it."""


def detectors_available(face_alignment_weights: str = "") -> dict[str, DetectorStatus]:
    """Availability of ``mediapipe``, ``dlib`` and ``face_alignment`` on this machine."""
    from headforge.track.detect_dlib import dlib_predictor_path
    from headforge.track.detect_face_alignment import (
        face_alignment_installed,
        find_face_alignment_weights,
    )

    out: dict[str, DetectorStatus] = {}
    if importlib.util.find_spec("mediapipe") is None:
        out["mediapipe"] = DetectorStatus(False, "pip install mediapipe==0.10.21")
    else:
        out["mediapipe"] = DetectorStatus(True, "")
    try:
        if importlib.util.find_spec("dlib") is None:
            raise LandmarkError("pip install dlib-bin")
        dlib_predictor_path()
        out["dlib"] = DetectorStatus(True, "")
    except LandmarkError as e:
        out["dlib"] = DetectorStatus(False, str(e))
    try:
        find_face_alignment_weights(face_alignment_weights)
        if not face_alignment_installed():
            raise LandmarkError("pip install face-alignment")
        out["face_alignment"] = DetectorStatus(True, "")
    except LandmarkError as e:
        out["face_alignment"] = DetectorStatus(False, str(e))
    return out


def _register_probes() -> None:
    """Make the detectors visible in :mod:`headforge.backends` (the project-wide registry)."""
    from headforge import backends as registry

    def probe(name: str, dist: str) -> registry.BackendStatus:
        st = detectors_available()[name]
        return registry.BackendStatus(name, st.available, registry.dist_version(dist), st.reason)

    registry.register_probe("mediapipe")(lambda: probe("mediapipe", "mediapipe"))
    registry.register_probe("dlib")(lambda: probe("dlib", "dlib-bin"))
    registry.register_probe("face_alignment")(lambda: probe("face_alignment", "face-alignment"))


_register_probes()
