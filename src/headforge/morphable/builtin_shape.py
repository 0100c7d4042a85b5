"""Analytic shape of the built-in head: profiles, surface parameterisation and facial features.

The outer skin is a grid over (azimuth, latitude). Three meridian profiles (front, side, back)
give the skull/face/neck outline; each ring blends them with a superellipse cross-section that
is flatter at the face. Features (eye sockets, brows, nose, lips, chin, cheekbones, ears) are
smooth displacements on top. Everything is plain numpy and deterministic.

Units are metres; +y up, the face looks toward +z, the subject's left is +x.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

# Meridian profiles: (v, horizontal extent, y). v runs from the top pole (0) to the neck's cut (1).
_FRONT = np.array([  # (v, z of the face plane at x=0, y)
    (0.000, 0.000, 0.125), (0.025, 0.017, 0.1236), (0.070, 0.045, 0.116), (0.130, 0.074, 0.098),
    (0.200, 0.089, 0.070), (0.250, 0.094, 0.047), (0.285, 0.093, 0.030), (0.360, 0.095, -0.005),
    (0.420, 0.094, -0.032), (0.480, 0.092, -0.052), (0.530, 0.089, -0.068), (0.570, 0.077, -0.085),
    (0.610, 0.058, -0.096), (0.650, 0.046, -0.108), (0.750, 0.047, -0.150), (1.000, 0.049, -0.205),
])
_SIDE = np.array([  # (v, half width x, y)
    (0.000, 0.000, 0.125), (0.025, 0.017, 0.1236), (0.080, 0.046, 0.113), (0.160, 0.070, 0.082),
    (0.250, 0.0775, 0.047), (0.300, 0.075, 0.022), (0.370, 0.071, -0.008), (0.450, 0.066, -0.040),
    (0.520, 0.060, -0.060), (0.600, 0.055, -0.085), (0.750, 0.054, -0.132), (1.000, 0.056, -0.205),
])
_BACK = np.array([  # (v, depth -z, y)
    (0.000, 0.000, 0.125), (0.025, 0.018, 0.1236), (0.080, 0.056, 0.113), (0.160, 0.091, 0.085),
    (0.250, 0.105, 0.045), (0.330, 0.100, 0.010), (0.420, 0.085, -0.030), (0.500, 0.066, -0.058),
    (0.600, 0.059, -0.088), (0.750, 0.057, -0.130), (1.000, 0.058, -0.205),
])

EYE_X = 0.032  # eye centres at (+-EYE_X, EYE_Y)
EYE_Y = 0.030
EYE_RADIUS = 0.0125
FISSURE_HALF_W = 0.0145  # half width / height of the almond eye opening
FISSURE_HALF_H = 0.0058
MOUTH_Y = -0.032  # lips meet here (the mouth slit follows the grid ring nearest to it)
MOUTH_HALF_W = 0.025
EAR_AZ = np.pi / 2 + 0.17  # ear centre azimuth (each side), radians from the +z axis
EAR_Y = 0.010


def smoothstep(
    x: np.ndarray | float, a: np.ndarray | float, b: np.ndarray | float
) -> np.ndarray:
    """0 at ``a``, 1 at ``b`` (either order), C1 cubic in between."""
    t = np.clip((np.asarray(x, dtype=np.float64) - a) / (b - a), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def gauss(x: np.ndarray | float, c: float, s: float) -> np.ndarray:
    """Unnormalised Gaussian bump ``exp(-((x - c)/s)^2)``."""
    return np.exp(-(((np.asarray(x) - c) / s) ** 2))


def column_azimuths(n_cols: int, warp: float = 0.45) -> np.ndarray:
    """Azimuth of each grid column [n_cols], denser at the face (az = 0) than at the back.

    Columns ``c`` and ``n_cols - 1 - c`` are mirror images (az -> -az).
    """
    t = 2.0 * (np.arange(n_cols) + 0.5) / n_cols - 1.0
    return np.pi * (t - warp * np.sin(np.pi * t) / np.pi)


def ring_params(n_rings: int) -> np.ndarray:
    """Latitude parameter v of rings 1..n_rings [n_rings], denser over the face band."""
    v = np.linspace(0.0, 1.0, 2001)
    density = 1.0 + 1.6 * smoothstep(v, 0.17, 0.25) * smoothstep(v, 0.66, 0.58)
    density *= 1.0 - 0.45 * smoothstep(v, 0.7, 1.0)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(v))])
    cdf /= cdf[-1]
    r = np.arange(1, n_rings + 1) / n_rings
    return np.interp(r, cdf, v)


def _profile(table: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ext = PchipInterpolator(table[:, 0], table[:, 1])(v)
    y = PchipInterpolator(table[:, 0], table[:, 2])(v)
    return ext, y


def base_surface(az: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Undecorated skin point for each (azimuth, v) pair: [N], [N] -> [N, 3]."""
    zf, yf = _profile(_FRONT, v)
    xs, ys = _profile(_SIDE, v)
    zb, yb = _profile(_BACK, v)
    u, c = np.sin(az), np.cos(az)
    wf, wb = np.maximum(c, 0.0) ** 2, np.maximum(-c, 0.0) ** 2
    y = wf * yf + wb * yb + u * u * ys
    face_band = smoothstep(v, 0.15, 0.25) * smoothstep(v, 0.62, 0.5)
    p = np.where(c >= 0.0, 2.0 + 0.45 * face_band, 2.05)
    shape = (1.0 - np.minimum(np.abs(u), 1.0) ** p) ** (1.0 / p)
    z = np.where(c >= 0.0, zf, -zb) * shape
    return np.stack([xs * u, y, z], axis=-1)


def horizontal_normal(az: np.ndarray) -> np.ndarray:
    """Outward horizontal direction per azimuth [N] -> [N, 3]."""
    return np.stack([np.sin(az), np.zeros_like(az), np.cos(az)], axis=-1)


def eye_almond(x: np.ndarray, y: np.ndarray, side: float) -> np.ndarray:
    """1 inside the almond-shaped eye opening of eye ``side`` (+1 left, -1 right), 0 outside."""
    dx = (x - side * EYE_X) / FISSURE_HALF_W
    # Outer corner slightly higher than the inner one, lids pointed at the corners.
    tilt = 0.12 * side * (x - side * EYE_X) / FISSURE_HALF_W
    half_h = FISSURE_HALF_H * np.sqrt(np.clip(1.0 - dx**2, 0.0, 1.0)) + 1e-4
    dy = (y - EYE_Y - tilt * FISSURE_HALF_H) / half_h
    q = np.where(np.abs(dx) < 1.0, dy**2, 4.0)
    return smoothstep(q, 1.0, 0.35) * smoothstep(np.abs(dx), 1.0, 0.8)


def lip_width(x: np.ndarray, half_w: float = MOUTH_HALF_W) -> np.ndarray:
    """Lip thickness profile across the mouth: 1 at the centre, 0 past the corners."""
    return np.clip(1.0 - (x / (half_w * 1.12)) ** 2, 0.0, 1.0) ** 1.2


@dataclass(frozen=True)
class FeatureFields:
    """Per-vertex facial feature displacements and masks on the skin grid."""

    displacement: np.ndarray  # [N, 3]
    ear_mask: np.ndarray  # [N] 0..1


def face_features(p: np.ndarray, az: np.ndarray, mouth_y: float) -> FeatureFields:
    """Feature displacements for skin points ``p`` [N, 3] with azimuths ``az`` [N]."""
    x, y = p[:, 0], p[:, 1]
    front = smoothstep(np.cos(az), 0.2, 0.6)
    fwd = np.zeros_like(p)
    # Brow ridge and forehead.
    fwd[:, 2] += 0.0055 * gauss(y, 0.046, 0.009) * np.exp(-((x / 0.05) ** 4))
    # Eye sockets: shallow orbit + deep almond opening where the eyeball shows through.
    for side in (1.0, -1.0):
        orbit = gauss(x, side * EYE_X, 0.017) * gauss(y, EYE_Y + 0.002, 0.012)
        fwd[:, 2] -= 0.0025 * orbit + 0.011 * eye_almond(x, y, side)
        # Cheekbones.
        cheek = gauss(x, side * 0.049, 0.014) * gauss(y, 0.010, 0.012)
        fwd[:, 2] += 0.006 * cheek
        fwd[:, 0] += side * 0.003 * cheek
        # Temples.
        fwd[:, 0] -= side * 0.003 * gauss(x, side * 0.068, 0.012) * gauss(y, 0.055, 0.015)
        # Nose wings.
        fwd[:, 2] += 0.0075 * gauss(x, side * 0.0155, 0.0055) * gauss(y, -0.004, 0.0055)
        # Mouth corners.
        fwd[:, 2] -= 0.003 * gauss(x, side * MOUTH_HALF_W, 0.006) * gauss(y, mouth_y, 0.008)
    # Nose: ridge from the nasion to the tip, then a quick drop to the subnasale.
    y_n, y_t, y_s = 0.036, 0.001, -0.0125
    along = np.clip((y_n - y) / (y_n - y_t), 0.0, 1.0)
    ridge = 0.004 + 0.0225 * along**1.4
    drop = np.sqrt(np.clip(1.0 - ((y_t - y) / (y_t - y_s)) ** 2, 0.0, 1.0))
    height = np.where(y >= y_t, ridge * smoothstep(y, y_n + 0.012, y_n - 0.004), 0.0265 * drop)
    width = 0.0075 + 0.0045 * np.clip((y_n - y) / (y_n - y_s), 0.0, 1.0)
    fwd[:, 2] += height * np.exp(-((x / width) ** 2))
    # Lips (upper above the slit, lower below), philtrum, chin.
    lw = lip_width(x)
    fwd[:, 2] += 0.0085 * lw * gauss(y, mouth_y + 0.0052, 0.0048)
    fwd[:, 2] += 0.0075 * lw * gauss(y, mouth_y - 0.0066, 0.0055)
    fwd[:, 2] += 0.0012 * gauss(x, 0.0, 0.005) * gauss(y, mouth_y + 0.013, 0.005)
    fwd[:, 2] -= 0.0030 * gauss(x, 0.0, 0.02) * gauss(y, mouth_y - 0.019, 0.005)
    fwd[:, 2] += 0.0065 * gauss(x, 0.0, 0.017) * gauss(y, -0.064, 0.011)
    disp = fwd * front[:, None]
    # Ears: a plate standing out from the side of the head, flaring toward the back.
    side_az = np.abs(az)
    a = (side_az - EAR_AZ) * 0.075  # arc length along the head, + toward the back
    b = y - EAR_Y
    q = (a / 0.0165) ** 2 + (b / 0.031) ** 2
    ear = smoothstep(q, 1.0, 0.55)
    flare = 0.35 + 0.65 * smoothstep(a, -0.016, 0.016)
    rim = 1.0 + 0.35 * gauss(q, 0.8, 0.2)
    concha = gauss(a, -0.002, 0.006) * gauss(b, -0.003, 0.010)
    amount = 0.017 * ear * flare * rim - 0.007 * concha * ear
    disp += amount[:, None] * horizontal_normal(az)
    return FeatureFields(displacement=disp, ear_mask=ear)
