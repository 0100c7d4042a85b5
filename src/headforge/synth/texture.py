"""Procedural UV albedo textures: skin tone, redness, freckles, pores, lips, brows, eyes, mouth.

The texture is painted in 3D: every texel is located on the head model's mean shape (UV
rasterisation), so features are placed by anatomy (lips around the mouth, brows above the
eyeballs, irises on the eyeballs' front) whatever the UV layout. Images are ``[R, R, 3]`` uint8
sRGB with row 0 at the top of the UV square (v = 1), as image files store them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from headforge.morphable.meshraster import rasterize
from headforge.synth.identity import SkinSpec


@dataclass(frozen=True)
class UVAtlas:
    """Where each texel lies on the mean head."""

    size: int
    covered: np.ndarray  # [R, R] bool: texel inside some UV triangle
    position: np.ndarray  # [R, R, 3] point on the mean head (0 where not covered)
    part: np.ndarray  # [R, R] int part index (-1 where not covered)
    part_names: tuple[str, ...]
    eye_centers: np.ndarray  # [2, 3] eyeball centres (left = +x first); NaN without eyes
    mouth_center: np.ndarray  # [3]

    def mask(self, name: str) -> np.ndarray:
        """[R, R] bool texels of one part."""
        if name not in self.part_names:
            return np.zeros_like(self.covered)
        return self.part == self.part_names.index(name)


def face_parts(faces: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Part index per face [F]: the label two corners share, else the first corner's."""
    lab = labels[faces]
    out = lab[:, 0].copy()
    same = lab[:, 1] == lab[:, 2]
    out[same] = lab[same, 1]
    return out


def uv_atlas(vertices: np.ndarray, faces: np.ndarray, uvs: np.ndarray, uv_faces: np.ndarray,
             labels: np.ndarray, part_names: tuple[str, ...], size: int) -> UVAtlas:
    """Rasterise the UV layout at ``size`` x ``size``: per texel position and part.

    vertices [V, 3] (mean head), faces [F, 3], uvs [T, 2] in [0, 1], uv_faces [F, 3],
    labels [V] part index.
    """
    if size < 8:
        raise ValueError(f"synth.texture_size={size} is too small; use 64 or more")
    uvs = np.asarray(uvs, dtype=np.float64)
    pts = np.stack([uvs[:, 0] * size - 0.5, (1.0 - uvs[:, 1]) * size - 0.5,
                    np.ones(len(uvs))], axis=1)
    raster = rasterize(pts, uv_faces, np.eye(3), size, size)
    covered = raster.face_id >= 0
    fid = np.where(covered, raster.face_id, 0)
    corners = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)[fid]]  # [R, R, 3, 3]
    position = np.einsum("hwk,hwkc->hwc", raster.bary, corners) * covered[..., None]
    part = np.where(covered, face_parts(np.asarray(faces), np.asarray(labels))[fid], -1)
    v = np.asarray(vertices, dtype=np.float64)
    eye_centers = np.full((2, 3), np.nan)
    if "eyes" in part_names:
        ev = v[labels == part_names.index("eyes")]
        if len(ev):
            eye_centers = np.stack([ev[ev[:, 0] > 0].mean(0), ev[ev[:, 0] <= 0].mean(0)])
    if "mouth" in part_names and (labels == part_names.index("mouth")).any():
        mouth = v[labels == part_names.index("mouth")].mean(0)
    else:
        mouth = v[np.argmax(v[:, 2])] + np.array([0.0, -0.033, -0.045])
    return UVAtlas(size, covered, position, part, tuple(part_names), eye_centers, mouth)


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    x = np.asarray(c, dtype=np.float64) / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb8(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    s = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return np.round(s * 255.0).astype(np.uint8)


def noise3(p: np.ndarray, frequency: float, rng: np.random.Generator, octaves: int = 4) -> np.ndarray:
    """Smooth noise in about [-1, 1] at points ``p`` [..., 3] (random sinusoid sums)."""
    out = np.zeros(p.shape[:-1])
    total = 0.0
    for k in range(octaves):
        amp = 0.55**k
        for _ in range(3):
            d = rng.normal(size=3)
            d /= np.linalg.norm(d)
            out += amp * np.sin(frequency * (2.0**k) * (p @ d) + rng.uniform(0, 2 * np.pi))
            total += amp
    return out * (1.7 / total)


def _blob(p: np.ndarray, center: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """exp(-|(p - c) / r|^2) per texel."""
    d = (p - center) / radii
    return np.exp(-np.sum(d * d, axis=-1))


def _lips(atlas: UVAtlas) -> np.ndarray:
    p, m = atlas.position, atlas.mouth_center
    dx, dy = (p[..., 0] - m[0]) / 0.027, (p[..., 1] - m[1]) / 0.0125
    r = dx * dx + dy * dy * (1.0 + 0.6 * dx * dx)
    front = p[..., 2] > m[2] - 0.02
    return np.clip((1.0 - r) / 0.25, 0.0, 1.0) * front * atlas.mask("face")


def _brows(atlas: UVAtlas, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(atlas.position.shape[:2])
    if np.isnan(atlas.eye_centers).any():
        return out
    p = atlas.position
    skin = atlas.mask("face") | atlas.mask("scalp")
    for c in atlas.eye_centers:
        dx = (p[..., 0] - c[0]) * np.sign(c[0])  # toward the temple
        arch = c[1] + 0.021 + 0.005 * np.exp(-(((dx - 0.004) / 0.014) ** 2)) - 0.0025 * (dx / 0.02) ** 2
        thick = 0.0045 - 0.0018 * np.clip(dx / 0.025, 0, 1)
        band = np.exp(-(((p[..., 1] - arch) / thick) ** 4))
        span = np.clip(1.0 - np.abs(dx - 0.002) / 0.026, 0.0, 1.0) ** 0.5
        front = p[..., 2] > c[2] - 0.03
        out = np.maximum(out, band * span * front * skin)
    hairs = 0.5 + 0.5 * noise3(p * np.array([1.0, 6.0, 1.0]), 900.0, rng, octaves=2)
    return np.clip(out * (0.55 + 0.6 * hairs), 0.0, 1.0)


def _eyes(atlas: UVAtlas, eye_color: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Linear RGB [R, R, 3] of the eyeballs (sclera, limbal ring, iris, pupil)."""
    p = atlas.position
    out = np.zeros(p.shape)
    eyes = atlas.mask("eyes")
    if np.isnan(atlas.eye_centers).any() or not eyes.any():
        return out
    sclera = np.array([0.78, 0.74, 0.70])
    for c in atlas.eye_centers:
        d = p - c
        n = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)
        ang = np.arccos(np.clip(n[..., 2], -1.0, 1.0))  # angle from the gaze (+z)
        sel = eyes & (np.sign(p[..., 0]) == np.sign(c[0]))
        streak = 0.8 + 0.4 * (0.5 + 0.5 * noise3(n, 60.0, rng, octaves=2))
        iris = eye_color[None, None] * streak[..., None]
        col = np.where((ang < 0.50)[..., None], iris, sclera)
        col = np.where(((ang > 0.44) & (ang < 0.52))[..., None], 0.3 * iris, col)
        col = np.where((ang < 0.19)[..., None], np.array([0.01, 0.01, 0.012]), col)
        out[sel] = col[sel]
    return out


def albedo_texture(atlas: UVAtlas, skin: SkinSpec) -> np.ndarray:
    """The identity's albedo [R, R, 3] uint8 sRGB (row 0 = v = 1)."""
    rng = np.random.default_rng(skin.texture_seed)
    p = atlas.position
    base = _srgb_to_linear(np.asarray(skin.tone))
    col = np.broadcast_to(base, p.shape).copy()
    col *= (1.0 + 0.06 * noise3(p, 40.0, rng))[..., None]  # blotchiness
    red = np.array([1.08, 0.86, 0.84])
    m = atlas.mouth_center
    flush = (_blob(p, m + np.array([0.045, 0.025, -0.01]), np.array([0.022, 0.018, 0.04]))
             + _blob(p, m + np.array([-0.045, 0.025, -0.01]), np.array([0.022, 0.018, 0.04]))
             + _blob(p, m + np.array([0.0, 0.045, 0.045]), np.array([0.012, 0.02, 0.02]))
             + 0.7 * atlas.mask("ears"))
    col *= 1.0 + skin.redness * np.clip(flush, 0, 1)[..., None] * (red - 1.0)
    if skin.freckles > 0:
        spots = noise3(p, 700.0, rng, octaves=2)
        zone = _blob(p, m + np.array([0.0, 0.04, 0.03]), np.array([0.06, 0.03, 0.06]))
        f = np.clip((spots - (1.0 - 0.35 * skin.freckles)) / 0.15, 0, 1) * zone
        col *= 1.0 - 0.35 * f[..., None] * np.array([0.8, 1.0, 1.15])
    grain = rng.normal(0.0, 1.0, size=p.shape[:2])
    grain = (grain + np.roll(grain, 1, 0) + np.roll(grain, 1, 1)) / 3.0
    col *= (1.0 + 0.05 * skin.pores * grain)[..., None]
    lips = _lips(atlas)[..., None]
    col = col * (1 - lips) + _srgb_to_linear(np.asarray(skin.lip_color)) * lips
    brows = (skin.brow_density * _brows(atlas, rng))[..., None]
    col = col * (1 - brows) + _srgb_to_linear(np.asarray(skin.brow_color)) * brows
    mouth = atlas.mask("mouth")
    col[mouth] = np.array([0.16, 0.03, 0.035]) * (0.8 + 0.2 * grain[mouth, None])
    eyes = atlas.mask("eyes")
    col[eyes] = _eyes(atlas, _srgb_to_linear(np.asarray(skin.eye_color)), rng)[eyes]
    col[~atlas.covered] = 0.0
    return _linear_to_srgb8(dilate(col, atlas.covered, 6))


def dilate(image: np.ndarray, valid: np.ndarray, steps: int) -> np.ndarray:
    """Grow ``image`` [R, R, C] from ``valid`` texels into their neighbours ``steps`` times
    (average of valid 4-neighbours), so bilinear lookups at UV seams do not pick up black."""
    img, ok = image.astype(np.float64).copy(), valid.copy()
    for _ in range(steps):
        acc = np.zeros_like(img)
        cnt = np.zeros(ok.shape)
        for axis, shift in ((0, 1), (0, -1), (1, 1), (1, -1)):
            acc += np.roll(img * ok[..., None], shift, axis)
            cnt += np.roll(ok, shift, axis)
        grow = ~ok & (cnt > 0)
        img[grow] = acc[grow] / cnt[grow, None]
        ok = ok | grow
    return img
