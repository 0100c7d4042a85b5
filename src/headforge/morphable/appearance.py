"""A procedural, face-like albedo for pictures of the head (skin, lips, brows, eyes, hair).

Colours are functions of a point's rest-pose position and part label, so they can be evaluated
per pixel (sharp irises and brows on a coarse mesh): rasterise the posed mesh, interpolate the
rest positions with the raster's barycentrics, call :func:`albedo`. Only meaningful for the
built-in head, whose feature positions are known.
"""

from __future__ import annotations

import numpy as np

from headforge.morphable import builtin_shape as bs
from headforge.morphable.builtin import HAIRLINE_AZ, HAIRLINE_Y, PART_NAMES
from headforge.morphable.meshraster import MeshRender, Raster, interpolate, shade_lambert, to_camera

SKIN = np.array([0.83, 0.64, 0.53])
LIPS = np.array([0.68, 0.33, 0.33])
BROWS = np.array([0.22, 0.15, 0.11])
HAIR = np.array([0.20, 0.14, 0.10])
SCLERA = np.array([0.93, 0.91, 0.88])
IRIS = np.array([0.33, 0.22, 0.13])
PUPIL = np.array([0.03, 0.03, 0.03])
MOUTH = np.array([0.35, 0.10, 0.10])


def albedo(
    rest: np.ndarray,  # [N, 3] rest-pose positions
    labels: np.ndarray,  # [N] part index
    eye_centres: np.ndarray,  # [2, 3] rest-pose eyeball centres (left, right)
    mouth_y: float,
    hair: bool = True,
) -> np.ndarray:
    """Per-point RGB albedo in [0, 1]: [N, 3]."""
    x, y, z = rest[:, 0], rest[:, 1], rest[:, 2]
    front = bs.smoothstep(z, 0.03, 0.07)
    out = np.broadcast_to(SKIN, rest.shape).copy()
    # Lips: between a cupid's-bow upper outline and a rounded lower outline.
    u = np.clip(1.0 - (x / (bs.MOUTH_HALF_W * 1.04)) ** 2, 0.0, 1.0)
    top = mouth_y + 0.0078 * u**0.5 - 0.0012 * bs.gauss(x, 0.0, 0.0035) \
        + 0.0006 * bs.gauss(np.abs(x), 0.0055, 0.003)
    bottom = mouth_y - 0.0095 * u**0.6
    lip = bs.smoothstep(y, top + 0.0007, top - 0.0007) * bs.smoothstep(
        y, bottom - 0.0007, bottom + 0.0007) * bs.smoothstep(u, 0.0, 0.08) * front
    out = out + lip[:, None] * (LIPS - out)
    # Brows: an arched band above each eye, thicker toward the nose.
    ax = np.abs(x)
    arch = 0.0445 + 0.006 * np.exp(-(((ax - 0.034) / 0.02) ** 2))
    half = 0.0038 - 0.0012 * bs.smoothstep(ax, 0.02, 0.055)
    brow = bs.smoothstep(np.abs(y - arch), half, half * 0.55)
    brow *= bs.smoothstep(ax, 0.009, 0.014) * bs.smoothstep(ax, 0.060, 0.052) * front
    out = out + brow[:, None] * (BROWS - out)
    # Nostrils.
    for s in (1.0, -1.0):
        n = bs.gauss(x, s * 0.0065, 0.0028) * bs.gauss(y, -0.0105, 0.0018) * front
        out = out * (1.0 - 0.75 * n[:, None])
    # Hair on the scalp, mouth interior, eyes.
    if hair:  # per point from the hairline curve (smoother than per-vertex labels)
        deg = np.degrees(np.abs(np.arctan2(x, z)))
        line = np.interp(deg, HAIRLINE_AZ, HAIRLINE_Y)
        skin_like = np.isin(labels, [PART_NAMES.index(p) for p in ("face", "scalp", "neck")])
        h = bs.smoothstep(y - line, -0.002, 0.003) * skin_like
        out = out + h[:, None] * (HAIR - out)
    out[labels == PART_NAMES.index("mouth")] = MOUTH
    eyes = np.nonzero(labels == PART_NAMES.index("eyes"))[0]
    if len(eyes):
        side = (x[eyes] < 0).astype(np.int64)  # 0 = left (+x), 1 = right
        d = rest[eyes] - eye_centres[side]
        d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
        ang = np.arccos(np.clip(d[:, 2], -1.0, 1.0))  # angle from the gaze axis (+z)
        col = np.broadcast_to(SCLERA, (len(eyes), 3)).copy()
        iris = bs.smoothstep(ang, 0.50, 0.44)
        col = col + iris[:, None] * (IRIS - col)
        limbus = bs.gauss(ang, 0.47, 0.03)
        col = col * (1.0 - 0.5 * limbus[:, None])
        pupil = bs.smoothstep(ang, 0.22, 0.18)
        col = col + pupil[:, None] * (PUPIL - col)
        out[eyes] = col
    return np.clip(out, 0.0, 1.0)


def render_textured(
    vertices: np.ndarray,  # [V, 3] posed, world
    rest: np.ndarray,  # [V, 3] rest-pose positions (for the albedo)
    faces: np.ndarray,  # [F, 3]
    labels: np.ndarray,  # [V] part labels
    K: np.ndarray,  # [3, 3]  # noqa: N803
    w2c: np.ndarray,  # [4, 4]
    width: int,
    height: int,
    eye_centres: np.ndarray,
    mouth_y: float,
    background: tuple[float, float, float] = (0.55, 0.6, 0.65),
    hair: bool = True,
) -> MeshRender:
    """Rasterise the head and colour each pixel with :func:`albedo`, Lambert-shaded."""
    from headforge.morphable.meshraster import rasterize

    cam = to_camera(np.asarray(vertices, dtype=np.float64), w2c)
    raster: Raster = rasterize(cam, faces, K, width, height)
    mask = raster.mask
    rest_pix = interpolate(raster, faces, np.asarray(rest, dtype=np.float64))[mask]
    fid = raster.face_id[mask]
    # Label of a pixel: the label of its triangle's corner with the largest weight.
    corner = np.argmax(raster.bary[mask], axis=1)
    lab = labels[faces[fid, corner]]
    colour = np.zeros((height, width, 3))
    colour[mask] = albedo(rest_pix, lab, eye_centres, mouth_y, hair=hair)
    # shade_lambert interpolates per-vertex colours; give it flat white and multiply.
    shade = shade_lambert(raster, cam, faces, np.ones((len(cam), 3)), light_dir=(-0.25, -0.35, -1.0),
                          ambient=0.35, background=background)
    image = np.where(mask[..., None], shade * colour, shade)
    return MeshRender(image=np.clip(image, 0.0, 1.0), raster=raster)
