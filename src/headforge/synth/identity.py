"""Sampling synthetic identities: shape, expressions, skin, eyes, hair, beard and lighting.

Each identity draws from its own generator seeded by ``(seed, version, index)``, so an
identity is the same whatever the shard size or the number of identities, and a new dataset
version changes every identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

HAIR_STYLES = ("bald", "short", "long", "bun")
HAIR_STYLE_P = (0.12, 0.43, 0.3, 0.15)
BEARD_STYLES = ("none", "stubble", "goatee", "full")
BEARD_STYLE_P = (0.55, 0.18, 0.1, 0.17)
LIGHT_SETUPS = ("studio", "soft", "sun", "dramatic")

# Linear-RGB base colours (roughly: black, dark brown, brown, auburn, dark blond, blond,
# red, grey, white).
HAIR_COLORS: dict[str, tuple[float, float, float]] = {
    "black": (0.012, 0.010, 0.009), "dark_brown": (0.035, 0.021, 0.013),
    "brown": (0.085, 0.045, 0.022), "auburn": (0.17, 0.055, 0.022),
    "dark_blond": (0.24, 0.15, 0.075), "blond": (0.52, 0.38, 0.20),
    "red": (0.33, 0.085, 0.03), "grey": (0.30, 0.29, 0.28), "white": (0.72, 0.70, 0.66),
}
# sRGB skin base tones from very light to very dark.
SKIN_TONES: tuple[tuple[int, int, int], ...] = (
    (246, 214, 190), (234, 192, 160), (222, 171, 135), (200, 148, 110), (176, 122, 86),
    (141, 93, 62), (110, 70, 45), (82, 52, 35),
)
# sRGB iris colours.
EYE_COLORS: dict[str, tuple[int, int, int]] = {
    "dark_brown": (58, 34, 20), "brown": (100, 62, 32), "hazel": (128, 100, 50),
    "green": (80, 120, 70), "blue": (70, 110, 160), "grey": (120, 130, 135),
}

# Scripted expressions: name -> (named blend-shape weights, jaw opening in radians).
SCRIPTED: dict[str, tuple[dict[str, float], float]] = {
    "smile": ({"smile": 1.0, "squint": 0.3}, 0.04),
    "jaw_open": ({"lip_part": 0.4}, 0.32),
    "surprise": ({"brow_raise": 1.0, "eyes_wide": 0.8, "lip_part": 0.3}, 0.25),
    "frown": ({"frown": 0.9, "brow_lower": 0.8}, 0.0),
    "pucker": ({"pucker": 1.0}, 0.02),
    "blink": ({"blink_left": 1.0, "blink_right": 1.0}, 0.0),
    "smirk": ({"smile_left": 0.9, "brow_raise_right": 0.5}, 0.02),
    "disgust": ({"nose_wrinkle": 1.0, "upper_lip_raise": 0.8, "squint": 0.5}, 0.05),
    "cheek_puff": ({"cheek_puff": 1.0, "lip_press": 0.5}, 0.0),
    "shout": ({"mouth_stretch": 0.8, "brow_lower": 0.5, "lower_lip_depress": 0.6}, 0.38),
}


@dataclass(frozen=True)
class ExpressionSpec:
    """One expression of an identity (the FLAME parameters that change per frame)."""

    name: str
    expr: np.ndarray  # [n_expr]
    jaw_pose: np.ndarray  # [3] axis-angle
    eyes_pose: np.ndarray  # [6] left eye, then right eye


@dataclass(frozen=True)
class SkinSpec:
    """Parameters of the procedural albedo texture."""

    tone: tuple[int, int, int]
    """sRGB base tone."""
    redness: float
    """Strength of the red tint on cheeks, nose and ears (0..1)."""
    freckles: float
    """Freckle density (0 = none)."""
    pores: float
    """Amplitude of fine pore noise (0..1)."""
    lip_color: tuple[int, int, int]
    """sRGB lip colour."""
    brow_density: float
    """0 = no eyebrows, 1 = dense."""
    brow_color: tuple[int, int, int]
    """sRGB eyebrow colour."""
    eye_color: tuple[int, int, int]
    """sRGB iris colour."""
    texture_seed: int
    """Seed of the texture's noise fields."""


@dataclass(frozen=True)
class IdentitySpec:
    """Everything that defines one synthetic identity."""

    id: str
    index: int
    seed: int
    shape: np.ndarray  # [n_shape]
    expressions: list[ExpressionSpec]
    skin: SkinSpec
    hair: dict[str, Any]
    beard: dict[str, Any]
    lighting: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)


def identity_id(index: int) -> str:
    """Folder name of identity ``index``."""
    return f"id_{index:05d}"


def identity_seed(seed: int, version: int, index: int) -> int:
    """A 63-bit seed for identity ``index`` of dataset (seed, version)."""
    ss = np.random.SeedSequence([int(seed), int(version), int(index)])
    return int(ss.generate_state(1, dtype=np.uint64)[0]) & (2**63 - 1)


def _to_linear(c: tuple[int, int, int]) -> list[float]:
    x = np.asarray(c, dtype=np.float64) / 255.0
    lin = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    return [round(float(v), 5) for v in lin]


def _expression(name: str, weights: dict[str, float], jaw: float, names: tuple[str, ...],
                n_expr: int, rng: np.random.Generator) -> ExpressionSpec:
    e = np.zeros(n_expr)
    for k, w in weights.items():
        if k in names and names.index(k) < n_expr:
            e[names.index(k)] = w * rng.uniform(0.75, 1.1)
    gaze = rng.normal(0.0, 0.08, size=2)
    eyes = np.array([gaze[0], gaze[1], 0.0, gaze[0], gaze[1], 0.0])
    return ExpressionSpec(name, e, np.array([max(jaw + rng.normal(0, 0.02), 0.0), 0.0, 0.0]), eyes)


def sample_expressions(rng: np.random.Generator, n: int, n_expr: int,
                       names: tuple[str, ...]) -> list[ExpressionSpec]:
    """``n`` expressions: neutral first, then scripted ones (when the model names its
    blend shapes) in an identity-specific order, then random mixtures ``mix_XX``."""
    if n < 1:
        raise ValueError(f"synth.expressions={n} must be at least 1")
    out = [ExpressionSpec("neutral", np.zeros(n_expr), np.zeros(3), np.zeros(6))]
    usable = [k for k, (w, _) in SCRIPTED.items() if any(x in names for x in w)]
    order = [usable[i] for i in rng.permutation(len(usable))]
    for name in order[: n - 1]:
        w, jaw = SCRIPTED[name]
        out.append(_expression(name, w, jaw, names, n_expr, rng))
    k = 0
    while len(out) < n:
        e = np.clip(rng.normal(0.0, 0.45, size=n_expr), -1.2, 1.2)
        gaze = rng.normal(0.0, 0.1, size=2)
        out.append(ExpressionSpec(f"mix_{k:02d}", e, np.array([rng.uniform(0.0, 0.3), 0.0, 0.0]),
                                  np.array([gaze[0], gaze[1], 0.0, gaze[0], gaze[1], 0.0])))
        k += 1
    return out


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str],
          p: tuple[float, ...] | None = None) -> str:
    return str(options[int(rng.choice(len(options), p=p))])


def sample_identity(index: int, seed: int, version: int, n_shape: int, n_expr: int,
                    n_expressions: int, expression_names: tuple[str, ...] = ()) -> IdentitySpec:
    """Draw identity ``index`` of dataset (seed, version)."""
    iseed = identity_seed(seed, version, index)
    rng = np.random.default_rng(iseed)
    shape = np.clip(rng.normal(0.0, 1.0, size=n_shape), -2.5, 2.5)
    tone_i = int(rng.integers(len(SKIN_TONES)))
    tone = tuple(int(np.clip(c + rng.normal(0, 6), 0, 255)) for c in SKIN_TONES[tone_i])
    hair_style = _pick(rng, HAIR_STYLES, HAIR_STYLE_P)
    hair_name = _pick(rng, list(HAIR_COLORS))
    if hair_name in ("grey", "white") and rng.uniform() < 0.5:
        hair_name = _pick(rng, ["black", "dark_brown", "brown"])
    hair_rgb = [float(c) * float(rng.uniform(0.85, 1.15)) for c in HAIR_COLORS[hair_name]]
    beard_style = _pick(rng, BEARD_STYLES, BEARD_STYLE_P)
    eye_name = _pick(rng, list(EYE_COLORS))
    brow_srgb = tuple(int(min(255, 255 * (c ** (1 / 2.2)) * 0.8)) for c in hair_rgb)
    lips = tuple(int(np.clip(t * f, 0, 255)) for t, f in zip(tone, (0.86, 0.62, 0.62), strict=True))
    skin = SkinSpec(
        tone=tone,  # type: ignore[arg-type]
        redness=float(rng.uniform(0.0, 0.6)),
        freckles=float(rng.uniform(0.3, 1.0)) if rng.uniform() < 0.25 else 0.0,
        pores=float(rng.uniform(0.2, 0.7)),
        lip_color=lips,  # type: ignore[arg-type]
        brow_density=float(rng.uniform(0.5, 1.0)),
        brow_color=brow_srgb,  # type: ignore[arg-type]
        eye_color=EYE_COLORS[eye_name],
        texture_seed=int(rng.integers(2**31)),
    )
    expressions = sample_expressions(rng, n_expressions, n_expr, expression_names)
    setup = _pick(rng, LIGHT_SETUPS)
    return IdentitySpec(
        id=identity_id(index), index=index, seed=iseed, shape=shape, expressions=expressions,
        skin=skin,
        hair={"style": hair_style, "color": hair_rgb, "roughness": float(rng.uniform(0.35, 0.6)),
              "thickness": float(rng.uniform(0.005, 0.011)),
              "length": float(rng.uniform(0.12, 0.26))},
        beard={"style": beard_style, "color": hair_rgb,
               "thickness": float(rng.uniform(0.006, 0.012))},
        lighting={"setup": setup, "azimuth_deg": float(rng.uniform(-60, 60)),
                  "strength": float(rng.uniform(0.8, 1.25))},
        tags={"hair": hair_style, "hair_color": hair_name, "beard": beard_style,
              "eyes": eye_name, "skin_tone": str(tone_i), "lighting": setup},
    )


def materials(spec: IdentitySpec) -> dict[str, Any]:
    """Material settings the Blender side needs besides the texture."""
    return {"skin_color": _to_linear(spec.skin.tone), "skin_roughness": 0.5}
