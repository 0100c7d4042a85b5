"""Identity and expression bases of the built-in head.

Identity: ~30 named, anatomically placed deformations (head width/height/depth, face length,
jaw, chin, cheekbones, nose, eyes, brows, mouth, lips, ears, neck) plus random low-frequency
fields, each with a standard deviation in metres, then decorrelated by PCA: column k of the
identity block is the k-th principal direction times its standard deviation, so identity
coefficients are ~N(0, 1) like FLAME's. Every field moves an eyeball rigidly (by the field's
value at the eye centre), so eyes stay spheres under any identity.

Expression: named action-unit-like blendshapes (``EXPRESSION_NAMES``), coefficient 1 being a
strong expression; jaw opening is the jaw joint, not a blendshape. Eyeballs never move with
expression (they rotate with the eye joints).
"""

from __future__ import annotations

import numpy as np

from headforge.morphable import builtin_shape as bs
from headforge.morphable.builtin_mesh import REGION_EYE_L, REGION_EYE_R, HeadMesh

EXPRESSION_NAMES: tuple[str, ...] = (
    "smile", "frown", "pucker", "brow_raise", "brow_lower", "blink_left", "blink_right",
    "cheek_puff", "lip_part", "mouth_stretch", "smile_left", "smile_right", "brow_raise_left",
    "brow_raise_right", "nose_wrinkle", "lip_press", "upper_lip_raise", "lower_lip_depress",
    "eyes_wide", "squint", "mouth_left", "mouth_right", "chin_raise", "cheek_suck",
)
N_RANDOM_IDENTITY = 70
_IDENTITY_SEED = 20240917


class _Anatomy:
    """Per-vertex quantities shared by the fields (eyeballs proxied by their centres)."""

    def __init__(self, mesh: HeadMesh) -> None:
        p = mesh.vertices.copy()
        self.eye = np.zeros(len(p), bool)
        for k, region in enumerate((REGION_EYE_L, REGION_EYE_R)):
            idx = mesh.region == region
            p[idx] = mesh.eye_centres[k]
            self.eye |= idx
        az = np.where(self.eye, np.arctan2(p[:, 0], p[:, 2]), mesh.az)
        self.p, self.az = p, az
        self.x, self.y, self.z = p[:, 0], p[:, 1], p[:, 2]
        self.front = bs.smoothstep(np.cos(az), 0.2, 0.6)
        self.head = bs.smoothstep(self.y, -0.13, -0.09)
        self.normal = bs.horizontal_normal(az)
        self.ear = mesh.ear_mask
        self.lower = mesh.lower_mouth
        self.my = mesh.mouth_y
        self.n = len(p)

    def vec(self, dx: np.ndarray | float = 0.0, dy: np.ndarray | float = 0.0,
            dz: np.ndarray | float = 0.0) -> np.ndarray:
        out = np.zeros((self.n, 3))
        out[:, 0], out[:, 1], out[:, 2] = dx, dy, dz
        return out


def _g(a: _Anatomy, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    return bs.gauss(a.x, cx, sx) * bs.gauss(a.y, cy, sy) * a.front


def _sym(a: _Anatomy, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    return bs.gauss(np.abs(a.x), cx, sx) * bs.gauss(a.y, cy, sy) * a.front


def _identity_fields(a: _Anatomy) -> list[tuple[np.ndarray, float]]:
    """(unit field [V, 3], std in metres at its peak) for every named identity deformation."""
    x, y, z, sx = a.x, a.y, a.z, np.sign(a.x)
    my, ear_c = a.my, bs.EAR_Y
    eyes = _sym(a, bs.EYE_X, bs.EYE_Y, 0.018, 0.014)
    lower_face = bs.smoothstep(y, 0.0, -0.07) * bs.smoothstep(np.cos(a.az), -0.3, 0.4)
    f = [
        (a.vec(dx=x / 0.075 * a.head), 0.004),  # head width
        (a.vec(dy=np.maximum(y + 0.09, 0.0) / 0.215), 0.006),  # head height
        (a.vec(dz=z / 0.1 * a.head), 0.005),  # head depth
        (a.vec(dy=bs.smoothstep(y, 0.04, 0.12)), 0.005),  # cranial vault
        (a.vec(dz=-bs.smoothstep(-z, 0.03, 0.09) * bs.gauss(y, 0.04, 0.05)), 0.005),  # occiput
        (a.vec(dz=bs.smoothstep(y, 0.04, 0.11) * a.front), 0.004),  # forehead slope
        (a.vec(dy=-lower_face), 0.006),  # lower face length
        (a.vec(dx=x / 0.065 * bs.gauss(y, -0.055, 0.03) * a.head), 0.004),  # jaw width
        (a.vec(dx=sx * bs.gauss(y, -0.06, 0.015) * bs.gauss(np.abs(a.az), 1.35, 0.35)), 0.003),
        (a.vec(dz=_g(a, 0.0, -0.07, 0.02, 0.015)), 0.004),  # chin protrusion
        (a.vec(dx=x / 0.02 * _g(a, 0.0, -0.07, 0.025, 0.015)), 0.003),  # chin width
        (a.vec(dy=-_g(a, 0.0, -0.08, 0.03, 0.02)), 0.003),  # chin height
        (_sym(a, 0.05, 0.01, 0.015, 0.013)[:, None] * a.normal, 0.003),  # cheekbones
        (_sym(a, 0.045, -0.025, 0.018, 0.018)[:, None] * a.normal, 0.0035),  # cheek fullness
        (a.vec(dz=-(x / 0.06) ** 2 * _g(a, 0.0, 0.0, 1.0, 0.05)), 0.004),  # face flatness
        (a.vec(dy=-_g(a, 0.0, 0.0, 0.018, 0.014)), 0.003),  # nose length
        (a.vec(dz=_g(a, 0.0, 0.002, 0.012, 0.012)), 0.004),  # nose protrusion
        (a.vec(dx=x / 0.015 * _g(a, 0.0, -0.003, 0.02, 0.009)), 0.0025),  # nose width
        (a.vec(dz=_g(a, 0.0, 0.022, 0.008, 0.01)), 0.0025),  # nose bridge
        (a.vec(dy=_g(a, 0.0, -0.008, 0.012, 0.006)), 0.002),  # nose tip tilt
        (a.vec(dx=sx * eyes), 0.002),  # eye spacing
        (a.vec(dy=eyes), 0.002),  # eye height
        (a.vec(dz=-eyes), 0.002),  # eye depth
        (a.vec(dz=bs.gauss(y, 0.046, 0.009) * np.exp(-((x / 0.05) ** 4)) * a.front), 0.0025),
        (a.vec(dx=x / 0.025 * _g(a, 0.0, my, 0.035, 0.012)), 0.0025),  # mouth width
        (a.vec(dz=bs.lip_width(x) * bs.gauss(y, my + 0.005, 0.005) * a.front), 0.0018),
        (a.vec(dz=bs.lip_width(x) * bs.gauss(y, my - 0.007, 0.005) * a.front), 0.0018),
        (a.vec(dy=_g(a, 0.0, my, 0.04, 0.015)), 0.0025),  # mouth height
        (a.vec(dy=(y - ear_c) / 0.03 * a.ear) + 0.3 * a.ear[:, None] * a.normal, 0.004),
        (a.ear[:, None] * a.normal, 0.004),  # ear protrusion
        (a.vec(dx=x / 0.055, dz=(z + 0.005) / 0.055) * (1.0 - a.head[:, None]), 0.004),  # neck
        (a.vec(dx=sx * _sym(a, 0.067, 0.05, 0.012, 0.015)), 0.002),  # temples
    ]
    return f


def _random_fields(a: _Anatomy, n: int, seed: int) -> list[tuple[np.ndarray, float]]:
    """Smooth random identity variation: low-frequency Fourier fields of position."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        k = rng.normal(size=3)
        k *= 2.0 * np.pi / rng.uniform(0.12, 0.4) / np.linalg.norm(k)
        phase = rng.uniform(0.0, 2.0 * np.pi)
        s = np.sin(a.p @ k + phase) * (0.35 + 0.65 * a.head)
        out.append((s[:, None] * direction[None], 0.0004))
    return out


def identity_basis(mesh: HeadMesh, n_random: int = N_RANDOM_IDENTITY) -> np.ndarray:
    """Identity shapedirs [V, 3, K] (PCA of the named + random fields, scaled by their std)."""
    a = _Anatomy(mesh)
    fields = _identity_fields(a) + _random_fields(a, n_random, _IDENTITY_SEED)
    mat = np.stack([f.reshape(-1) * std / max(np.abs(f).max(), 1e-12) for f, std in fields], 1)
    # PCA through the small Gram matrix: mat = U S W^T, so U S = mat W.
    eigval, w = np.linalg.eigh(mat.T @ mat)
    order = np.argsort(eigval)[::-1]
    comps = mat @ w[:, order]
    # Deterministic signs: the largest-magnitude entry of each component is positive.
    flip = np.sign(comps[np.argmax(np.abs(comps), axis=0), np.arange(comps.shape[1])])
    comps = comps * flip[None]
    return comps.reshape(len(mesh.vertices), 3, -1)


def _blink(a: _Anatomy, side: float) -> np.ndarray:
    gx = bs.gauss(a.x, side * bs.EYE_X, 0.017) * a.front
    above = np.clip((a.y - (bs.EYE_Y - 0.001)) / bs.FISSURE_HALF_H, 0.0, 1.0)
    upper = above * bs.smoothstep(a.y, bs.EYE_Y + 0.022, bs.EYE_Y + 0.007)
    below = np.clip((bs.EYE_Y - a.y) / bs.FISSURE_HALF_H, 0.0, 1.0)
    lower = below * bs.smoothstep(a.y, bs.EYE_Y - 0.016, bs.EYE_Y - 0.007)
    dy = (-0.0064 * upper + 0.0012 * lower) * gx
    dz = 0.0125 * bs.eye_almond(a.x, a.y, side) + 0.0012 * gx * bs.gauss(a.y, bs.EYE_Y, 0.008)
    return a.vec(dy=dy, dz=dz * a.front)


def _eyes_wide(a: _Anatomy) -> np.ndarray:
    gx = bs.gauss(np.abs(a.x), bs.EYE_X, 0.017) * a.front
    above = np.clip((a.y - (bs.EYE_Y - 0.001)) / bs.FISSURE_HALF_H, 0.0, 1.0)
    upper = above * bs.smoothstep(a.y, bs.EYE_Y + 0.022, bs.EYE_Y + 0.007)
    return a.vec(dy=0.0022 * upper * gx)


def _expression_fields(a: _Anatomy) -> dict[str, np.ndarray]:
    x, y, sx, my = a.x, a.y, np.sign(a.x), a.my
    corners = _sym(a, bs.MOUTH_HALF_W, my, 0.013, 0.013)
    cheeks = _sym(a, 0.045, 0.0, 0.016, 0.014)
    lips = bs.lip_width(x, bs.MOUTH_HALF_W * 1.2) ** 0.5 * bs.gauss(y, my, 0.011) * a.front
    brows = _sym(a, 0.03, 0.05, 0.03, 0.012)
    upper_lip = lips * ~a.lower
    lower_lip = lips * a.lower
    left, right = bs.smoothstep(x, -0.006, 0.006), bs.smoothstep(x, 0.006, -0.006)
    smile = a.vec(dx=sx * 0.004 * corners, dy=0.0065 * corners + 0.003 * cheeks,
                  dz=-0.003 * corners + 0.002 * cheeks)
    brow_raise = a.vec(dy=0.0065 * brows + 0.002 * _sym(a, 0.03, 0.07, 0.04, 0.02))
    chin = _g(a, 0.0, -0.062, 0.02, 0.014)
    f = {
        "smile": smile,
        "frown": a.vec(dx=sx * 0.001 * corners, dy=-0.0055 * corners, dz=-0.001 * corners),
        "pucker": a.vec(dx=-0.3 * x * lips, dz=0.009 * lips),
        "brow_raise": brow_raise,
        "brow_lower": a.vec(dx=-sx * 0.003 * _sym(a, 0.015, 0.048, 0.015, 0.012),
                            dy=-0.0045 * brows, dz=0.0015 * brows),
        "blink_left": _blink(a, 1.0),
        "blink_right": _blink(a, -1.0),
        "cheek_puff": 0.011 * _sym(a, 0.042, my + 0.004, 0.016, 0.016)[:, None]
        * (a.normal + np.array([0.0, 0.0, 0.3])),
        "lip_part": a.vec(dy=0.0028 * upper_lip - 0.0034 * lower_lip),
        "mouth_stretch": a.vec(dx=sx * 0.006 * corners, dy=-0.001 * corners),
        "smile_left": smile * left[:, None],
        "smile_right": smile * right[:, None],
        "brow_raise_left": brow_raise * left[:, None],
        "brow_raise_right": brow_raise * right[:, None],
        "nose_wrinkle": a.vec(dy=0.003 * _sym(a, 0.012, 0.012, 0.01, 0.012)
                              + 0.0015 * upper_lip, dz=0.001 * _g(a, 0.0, 0.02, 0.01, 0.01)),
        "lip_press": a.vec(dy=-0.0015 * upper_lip + 0.0015 * lower_lip, dz=-0.004 * lips),
        "upper_lip_raise": a.vec(dy=0.004 * upper_lip * bs.gauss(y, my, 0.008)),
        "lower_lip_depress": a.vec(dy=-0.0045 * lower_lip * bs.gauss(y, my, 0.01),
                                   dz=0.001 * lower_lip),
        "eyes_wide": _eyes_wide(a),
        "squint": a.vec(dy=0.0022 * _sym(a, bs.EYE_X, bs.EYE_Y - 0.008, 0.015, 0.005)
                        - 0.0015 * _sym(a, bs.EYE_X, bs.EYE_Y + 0.009, 0.015, 0.004)
                        + 0.0015 * cheeks),
        "mouth_left": a.vec(dx=0.006 * _g(a, 0.0, my, 0.03, 0.014)),
        "mouth_right": a.vec(dx=-0.006 * _g(a, 0.0, my, 0.03, 0.014)),
        "chin_raise": a.vec(dy=0.004 * chin + 0.002 * lower_lip, dz=0.002 * chin),
        "cheek_suck": -0.006 * _sym(a, 0.045, my + 0.006, 0.014, 0.016)[:, None] * a.normal,
    }
    return f


def expression_basis(mesh: HeadMesh) -> np.ndarray:
    """Expression shapedirs [V, 3, len(EXPRESSION_NAMES)] in ``EXPRESSION_NAMES`` order."""
    a = _Anatomy(mesh)
    fields = _expression_fields(a)
    out = np.stack([fields[name] for name in EXPRESSION_NAMES], axis=-1)
    out[a.eye] = 0.0
    return out

