"""Topology of the built-in head: skin grid with a mouth slit, mouth cavity, eyeballs and UVs.

Vertex order: skin (top pole, then ``n_rings`` rings of ``n_cols``), mouth cavity, left eyeball,
right eyeball (like FLAME, the eyeballs are separate closed meshes at the end).
UV atlas: the skin is a cylindrical unwrap in v in [0.2, 1] with the face at u = 0.5; the
left eye, right eye and mouth cavity are islands in the bottom strip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from headforge.morphable import builtin_shape as bs

REGION_SKIN, REGION_MOUTH, REGION_EYE_L, REGION_EYE_R = 0, 1, 2, 3

_CAVITY_LAYERS = 4
_EYE_LAT = 10  # latitude bands of each eyeball (rings = _EYE_LAT - 1)
_EYE_LON = 16


@dataclass(frozen=True)
class HeadMesh:
    """The built-in head's neutral geometry plus the per-vertex facts the bases need."""

    vertices: np.ndarray  # [V, 3] float64
    faces: np.ndarray  # [F, 3] int64
    uvs: np.ndarray  # [T, 2] float64 in [0, 1]
    uv_faces: np.ndarray  # [F, 3] int64
    region: np.ndarray  # [V] int8: REGION_*
    az: np.ndarray  # [V] azimuth of skin/mouth vertices (0 for eyeballs)
    vparam: np.ndarray  # [V] latitude parameter v of skin/mouth vertices
    lower_mouth: np.ndarray  # [V] bool: front half below the mouth slit, and the lower cavity
    ear_mask: np.ndarray  # [V] 0..1
    eye_centres: np.ndarray  # [2, 3] left (+x), right (-x)
    mouth_y: float
    n_rings: int
    n_cols: int
    mouth_ring: int  # ring index (1-based) of the upper lip edge; the lower edge is the next ring
    slit_cols: np.ndarray  # [S] columns of the slit, ascending

    def skin_index(self, ring: int, col: int) -> int:
        """Vertex index of grid ring ``ring`` (1..n_rings), column ``col``."""
        return 1 + (ring - 1) * self.n_cols + (col % self.n_cols)


def _sphere(n_lat: int, n_lon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unit lat-long sphere with poles on +z (front) and -z.

    Returns vertices [2 + (n_lat-1) n_lon, 3], faces, uvs (seam column duplicated, one pole UV
    per pole triangle) and uv_faces; uv in [0, 1]^2 of its island.
    """
    theta = np.arange(1, n_lat) * np.pi / n_lat
    phi = np.arange(n_lon) * 2.0 * np.pi / n_lon
    st, ct = np.sin(theta)[:, None], np.cos(theta)[:, None]
    cp, sp = np.cos(phi)[None], np.sin(phi)[None]
    ring = np.stack([st * cp, st * sp, ct * np.ones_like(cp)], axis=-1).reshape(-1, 3)
    verts = np.concatenate([[[0.0, 0.0, 1.0]], ring, [[0.0, 0.0, -1.0]]])
    back = len(verts) - 1

    def vid(i: int, j: int) -> int:
        return 1 + i * n_lon + (j % n_lon)

    uv_grid = np.stack(
        np.meshgrid(np.arange(n_lon + 1) / n_lon, 1.0 - theta / np.pi, indexing="xy"), -1
    ).reshape(-1, 2)
    n_grid = len(uv_grid)
    pole_uv = [((j + 0.5) / n_lon, 1.0) for j in range(n_lon)]
    pole_uv += [((j + 0.5) / n_lon, 0.0) for j in range(n_lon)]
    uvs = np.concatenate([uv_grid, np.array(pole_uv)])

    def tid(i: int, j: int) -> int:
        return i * (n_lon + 1) + j

    faces, uvf = [], []
    for j in range(n_lon):
        faces.append((0, vid(0, j), vid(0, j + 1)))
        uvf.append((n_grid + j, tid(0, j), tid(0, j + 1)))
        faces.append((back, vid(n_lat - 2, j + 1), vid(n_lat - 2, j)))
        uvf.append((n_grid + n_lon + j, tid(n_lat - 2, j + 1), tid(n_lat - 2, j)))
    for i in range(n_lat - 2):
        for j in range(n_lon):
            a, b, c, d = vid(i, j), vid(i, j + 1), vid(i + 1, j + 1), vid(i + 1, j)
            ta, tb, tc, td = tid(i, j), tid(i, j + 1), tid(i + 1, j + 1), tid(i + 1, j)
            faces += [(a, c, b), (a, d, c)]
            uvf += [(ta, tc, tb), (ta, td, tc)]
    return verts, np.array(faces), uvs, np.array(uvf)


def build_mesh(n_rings: int = 64, n_cols: int = 80) -> HeadMesh:
    """Neutral built-in head geometry and topology (deterministic)."""
    if n_cols % 2 or n_cols < 32 or n_rings < 32:
        raise ValueError("build_mesh needs an even n_cols >= 32 and n_rings >= 32")
    col_az = bs.column_azimuths(n_cols)
    ring_v = bs.ring_params(n_rings)
    az_grid = np.broadcast_to(col_az[None], (n_rings, n_cols))
    v_grid = np.broadcast_to(ring_v[:, None], (n_rings, n_cols))
    skin = bs.base_surface(az_grid.ravel(), v_grid.ravel()).reshape(n_rings, n_cols, 3)

    # Mouth slit between ring m and m+1 (0-based rows here): the rings meet over the mouth.
    centre = np.argsort(np.abs(col_az))[:2]
    y_mid = skin[:, centre, 1].mean(axis=1)
    m = int(np.argmin(np.abs(0.5 * (y_mid[:-1] + y_mid[1:]) - bs.MOUTH_Y)))
    x_row = skin[m, :, 0]
    pull = bs.smoothstep(np.abs(x_row), bs.MOUTH_HALF_W + 0.011, bs.MOUTH_HALF_W)
    pull *= (np.cos(col_az) > 0).astype(np.float64)
    meet = 0.5 * (skin[m] + skin[m + 1])
    skin[m] += pull[:, None] * (meet - skin[m])
    skin[m + 1] += pull[:, None] * (meet - skin[m + 1])
    slit_cols = np.nonzero(np.abs(x_row) <= bs.MOUTH_HALF_W)[0]
    slit_cols = slit_cols[np.cos(col_az[slit_cols]) > 0]
    mouth_y = float(meet[centre, 1].mean())

    top = bs.base_surface(np.zeros(1), np.zeros(1))
    skin_v = np.concatenate([top, skin.reshape(-1, 3)])
    skin_az = np.concatenate([[0.0], az_grid.ravel()])
    skin_vp = np.concatenate([[0.0], v_grid.ravel()])
    feat = bs.face_features(skin_v, skin_az, mouth_y)
    skin_v = skin_v + feat.displacement
    rows = np.concatenate([[0], np.repeat(np.arange(1, n_rings + 1), n_cols)])
    # Below the slit, on the face's half of the head (1-based ring of the lower lip edge: m+2).
    lower = (rows > m + 1) & (np.cos(skin_az) > 0.0)

    def sid(ring: int, col: int) -> int:  # ring 1..n_rings
        return 1 + (ring - 1) * n_cols + (col % n_cols)

    n_uv_cols = n_cols + 1
    ring_vtex = 0.2 + 0.8 * (1.0 - np.arange(1, n_rings + 1) / n_rings)
    uv_skin = np.stack(
        np.meshgrid((np.arange(n_uv_cols) + 0.5) / n_uv_cols, ring_vtex, indexing="xy"), -1
    ).reshape(-1, 2)
    n_uv_grid = len(uv_skin)
    uv_pole = np.stack([(np.arange(n_cols) + 1.0) / n_uv_cols, np.ones(n_cols)], -1)
    uvs = [uv_skin, uv_pole]

    def tid(ring: int, col: int) -> int:  # col 0..n_cols (n_cols = seam duplicate)
        return (ring - 1) * n_uv_cols + col

    faces: list[tuple[int, int, int]] = []
    uvf: list[tuple[int, int, int]] = []
    for c in range(n_cols):
        faces.append((0, sid(1, c), sid(1, c + 1)))
        uvf.append((n_uv_grid + c, tid(1, c), tid(1, c + 1)))
    slit = set(int(c) for c in slit_cols[:-1])
    for r in range(1, n_rings):
        for c in range(n_cols):
            if r == m + 1 and c in slit:
                continue
            a, b, cc, d = sid(r, c), sid(r, c + 1), sid(r + 1, c + 1), sid(r + 1, c)
            ta, tb, tc, td = tid(r, c), tid(r, c + 1), tid(r + 1, c + 1), tid(r + 1, c)
            faces += [(a, d, cc), (a, cc, b)]
            uvf += [(ta, td, tc), (ta, tc, tb)]

    # Mouth cavity: loops from the slit boundary into the head, closed by a fan at the back.
    upper_edge = [sid(m + 1, int(c)) for c in slit_cols]
    lower_edge = [sid(m + 2, int(c)) for c in slit_cols[::-1]]
    loop0 = upper_edge + lower_edge
    n_loop = len(loop0)
    is_low = np.array([False] * len(upper_edge) + [True] * len(lower_edge))
    base = skin_v[loop0]
    corner_x = np.abs(base[:, 0]).max()
    prof = np.clip(1.0 - (base[:, 0] / corner_x) ** 2, 0.0, 1.0)
    cav_v, cav_low, cav_az, cav_vp = [], [], [], []
    loops = [list(loop0)]
    next_id = len(skin_v)
    for k in range(1, _CAVITY_LAYERS + 1):
        f = k / _CAVITY_LAYERS
        p = base.copy()
        p[:, 0] *= 1.0 - 0.3 * f
        lift = np.where(is_low, -0.011, 0.008) * np.sin(0.5 * np.pi * f) * prof
        p[:, 1] += lift
        p[:, 2] -= 0.034 * f
        cav_v.append(p)
        cav_low.append(is_low)
        cav_az.append(skin_az[loop0])
        cav_vp.append(skin_vp[loop0])
        loops.append(list(range(next_id, next_id + n_loop)))
        next_id += n_loop
    back = np.array([[0.0, mouth_y - 0.002, base[:, 2].mean() - 0.040]])
    cav_v.append(back)
    cav_low.append(np.array([True]))
    cav_az.append(np.zeros(1))
    cav_vp.append(np.array([skin_vp[loop0].mean()]))
    back_id = next_id
    n_uv0 = n_uv_grid + n_cols
    cav_uv = np.stack(
        np.meshgrid(
            0.66 + 0.33 * np.arange(n_loop + 1) / n_loop,
            0.01 + 0.15 * np.arange(_CAVITY_LAYERS + 1) / _CAVITY_LAYERS,
            indexing="xy",
        ), -1
    ).reshape(-1, 2)
    uvs += [cav_uv, np.array([[0.825, 0.19]])]

    def cid(k: int, j: int) -> int:
        return n_uv0 + k * (n_loop + 1) + j

    for k in range(_CAVITY_LAYERS):
        for j in range(n_loop):
            a, b = loops[k][j], loops[k][(j + 1) % n_loop]
            c2, d = loops[k + 1][(j + 1) % n_loop], loops[k + 1][j]
            faces += [(a, c2, b), (a, d, c2)]
            uvf += [(cid(k, j), cid(k + 1, j + 1), cid(k, j + 1)),
                    (cid(k, j), cid(k + 1, j), cid(k + 1, j + 1))]
    back_uv = n_uv0 + (_CAVITY_LAYERS + 1) * (n_loop + 1)
    for j in range(n_loop):
        a, b = loops[-1][j], loops[-1][(j + 1) % n_loop]
        faces.append((a, back_id, b))
        uvf.append((cid(_CAVITY_LAYERS, j), back_uv, cid(_CAVITY_LAYERS, j + 1)))

    verts = [skin_v, *cav_v]
    region = [np.zeros(len(skin_v), np.int8), np.full(next_id + 1 - len(skin_v), REGION_MOUTH)]
    lower_all = [lower, *cav_low]
    az_all = [skin_az, *cav_az]
    vp_all = [skin_vp, *cav_vp]
    ear = [feat.ear_mask, np.zeros(next_id + 1 - len(skin_v))]

    # Eyeballs: centred behind the almond openings, cornea just behind the lid surface.
    sph_v, sph_f, sph_uv, sph_uvf = _sphere(_EYE_LAT, _EYE_LON)
    centres = []
    n_uv = sum(len(u) for u in uvs)
    n_v = next_id + 1
    for k, side in enumerate((1.0, -1.0)):
        probe = bs.base_surface(np.array([np.arcsin(side * bs.EYE_X / 0.0775)]), np.array([0.285]))
        cz = float(probe[0, 2]) - 0.0012 - bs.EYE_RADIUS
        centre = np.array([side * bs.EYE_X, bs.EYE_Y, cz])
        centres.append(centre)
        verts.append(centre + bs.EYE_RADIUS * sph_v)
        faces += [(int(a) + n_v, int(b) + n_v, int(c) + n_v) for a, b, c in sph_f]
        uvs.append(np.stack([0.01 + k * 0.32 + 0.30 * sph_uv[:, 0],
                             0.01 + 0.16 * sph_uv[:, 1]], -1))
        uvf += [(int(a) + n_uv, int(b) + n_uv, int(c) + n_uv) for a, b, c in sph_uvf]
        n_v += len(sph_v)
        n_uv += len(sph_uv)
        region.append(np.full(len(sph_v), REGION_EYE_L if side > 0 else REGION_EYE_R, np.int8))
        lower_all.append(np.zeros(len(sph_v), bool))
        az_all.append(np.zeros(len(sph_v)))
        vp_all.append(np.zeros(len(sph_v)))
        ear.append(np.zeros(len(sph_v)))

    return HeadMesh(
        vertices=np.concatenate(verts),
        faces=np.asarray(faces, dtype=np.int64),
        uvs=np.concatenate(uvs),
        uv_faces=np.asarray(uvf, dtype=np.int64),
        region=np.concatenate(region).astype(np.int8),
        az=np.concatenate(az_all),
        vparam=np.concatenate(vp_all),
        lower_mouth=np.concatenate(lower_all).astype(bool),
        ear_mask=np.concatenate(ear),
        eye_centres=np.stack(centres),
        mouth_y=mouth_y,
        n_rings=n_rings,
        n_cols=n_cols,
        mouth_ring=m + 1,
        slit_cols=slit_cols,
    )
