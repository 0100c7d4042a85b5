"""The synthetic capture rig: 14 cameras on a frontal arc and 14 on the upper hemisphere.

Every camera looks at the head centre and shares one pinhole ``K`` (OpenCV conventions of
:mod:`headforge.cameras`). The hemisphere cameras are drawn once per dataset seed with a
stratified (jittered Fibonacci) layout, so they cover the dome evenly, back of the head included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from headforge.cameras import focal_from_fov, intrinsics, look_at_w2c

N_FRONT = 14
N_UPPER = 14
HEAD_CENTER = (0.0, -0.015, 0.0)
"""Where the rig cameras look (metres): the middle of the head-and-neck of the head model."""


@dataclass(frozen=True)
class RigCamera:
    """One camera of the rig."""

    name: str
    K: np.ndarray  # [3, 3] pixels
    w2c: np.ndarray  # [4, 4] OpenCV world-to-camera
    group: str  # "front" | "upper"

    @property
    def center(self) -> np.ndarray:
        """Camera centre in world coordinates [3]."""
        R, t = self.w2c[:3, :3], self.w2c[:3, 3]
        return -R.T @ t


@dataclass(frozen=True)
class RigSpec:
    """Geometry of the rig."""

    width: int
    height: int
    fov_deg: float = 22.0
    """Field of view across the shorter image side."""
    distance: float = 1.0
    """Camera distance from the target (metres)."""
    target: tuple[float, float, float] = HEAD_CENTER
    """Point every camera looks at (head centre, metres)."""
    front_azimuth_deg: float = 80.0
    """The frontal arc spans [-a, +a] degrees of azimuth around the face direction (+z)."""
    front_elevation_deg: float = 5.0
    """Elevation of the frontal arc."""
    upper_elevation_deg: tuple[float, float] = (20.0, 70.0)
    """Elevation range of the hemisphere cameras."""


def _eye(target: np.ndarray, distance: float, az_deg: float, el_deg: float) -> np.ndarray:
    a, e = math.radians(az_deg), math.radians(el_deg)
    d = np.array([math.cos(e) * math.sin(a), math.sin(e), math.cos(e) * math.cos(a)])
    return target + distance * d


def build_rig(spec: RigSpec, seed: int) -> list[RigCamera]:
    """All 28 cameras, ``front_00..13`` then ``upper_00..13``."""
    if spec.width <= 0 or spec.height <= 0:
        raise ValueError(f"image size {spec.width}x{spec.height} must be positive")
    f = focal_from_fov(spec.fov_deg, min(spec.width, spec.height))
    K = intrinsics(f, f, spec.width / 2.0, spec.height / 2.0)
    target = np.asarray(spec.target, dtype=np.float64)
    cams: list[RigCamera] = []
    for i, az in enumerate(np.linspace(-spec.front_azimuth_deg, spec.front_azimuth_deg, N_FRONT)):
        eye = _eye(target, spec.distance, float(az), spec.front_elevation_deg)
        cams.append(RigCamera(f"front_{i:02d}", K, look_at_w2c(eye, target), "front"))
    rng = np.random.default_rng([seed, 28])
    lo, hi = (math.sin(math.radians(e)) for e in spec.upper_elevation_deg)
    golden = math.pi * (3.0 - math.sqrt(5.0))
    offset = rng.uniform(0.0, 2.0 * math.pi)
    for i in range(N_UPPER):
        # equal-area strata in sin(elevation), golden-angle azimuths, jitter inside a stratum
        s = lo + (hi - lo) * (i + rng.uniform(0.2, 0.8)) / N_UPPER
        az = math.degrees(offset + i * golden) % 360.0
        eye = _eye(target, spec.distance, az, math.degrees(math.asin(s)))
        cams.append(RigCamera(f"upper_{i:02d}", K, look_at_w2c(eye, target), "upper"))
    return cams


def select_cameras(rig: list[RigCamera], n: int) -> list[RigCamera]:
    """``n`` cameras spread over both groups (half front, half upper; front gets the odd one)."""
    if not 1 <= n <= len(rig):
        raise ValueError(f"synth.cameras={n} must be in [1, {len(rig)}]")
    front = [c for c in rig if c.group == "front"]
    upper = [c for c in rig if c.group == "upper"]
    n_front = min(len(front), (n + 1) // 2)
    n_upper = n - n_front

    def spread(cams: list[RigCamera], k: int) -> list[RigCamera]:
        if k == 0:
            return []
        idx = np.unique(np.round(np.linspace(0, len(cams) - 1, k)).astype(int))
        return [cams[i] for i in idx]

    return spread(front, n_front) + spread(upper, n_upper)
