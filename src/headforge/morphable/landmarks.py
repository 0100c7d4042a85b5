"""Landmark embeddings: points on the mesh as (triangle index, barycentric coordinates).

``LandmarkEmbedding`` is the one representation used for iBUG-68 and MediaPipe-478, whatever
file they came from. ``ibug68_targets`` places the built-in head's 68 points at their semantic
positions; ``ray_hits`` / ``embed_by_rays`` turn such targets into embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from headforge.morphable import builtin_shape as bs

N_IBUG = 68
N_MEDIAPIPE = 478


@dataclass(frozen=True)
class LandmarkEmbedding:
    """Landmarks of one convention embedded on a mesh.

    ``indices`` says which of the convention's points are defined (all of them for a complete
    embedding); ``face_idx``/``bary`` are aligned with it.
    """

    convention: str  # "ibug68" | "mediapipe478"
    face_idx: np.ndarray  # [L] int64 triangle index
    bary: np.ndarray  # [L, 3] float64 barycentric coordinates (rows sum to 1)
    indices: np.ndarray  # [L] int64 point numbers within the convention

    @property
    def size(self) -> int:
        """Number of points in the full convention (68 or 478)."""
        return N_IBUG if self.convention == "ibug68" else N_MEDIAPIPE

    @property
    def complete(self) -> bool:
        return len(self.indices) == self.size and bool(
            np.array_equal(np.sort(self.indices), np.arange(self.size))
        )

    def points(self, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
        """Embedded points [L, 3] on a mesh with vertices [V, 3]."""
        tri = vertices[faces[self.face_idx]]  # [L, 3, 3]
        return (tri * self.bary[:, :, None]).sum(1)


def ray_hits(
    origins: np.ndarray,  # [L, 3]
    dirs: np.ndarray,  # [L, 3] unit directions
    vertices: np.ndarray,  # [V, 3]
    faces: np.ndarray,  # [F, 3]
    allowed: np.ndarray | None = None,  # [L, F] bool or [F] bool: triangles a ray may hit
    nearest: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Farthest (or, with ``nearest``, first) intersection of each ray with the mesh.

    Returns face index [L] (-1 on a miss), barycentrics [L, 3] and ray parameter t [L].
    """
    tri = vertices[faces]  # [F, 3, 3]
    centre = tri.mean(1)
    radius = np.linalg.norm(tri - centre[:, None], axis=-1).max(1) + 1e-9
    n = len(origins)
    face_out = np.full(n, -1, dtype=np.int64)
    bary_out = np.zeros((n, 3))
    t_out = np.full(n, np.nan)
    for i in range(n):
        w = centre - origins[i]
        along = w @ dirs[i]
        near = (w * w).sum(1) - along**2 <= radius**2
        if allowed is not None:
            near &= allowed[i] if allowed.ndim == 2 else allowed
        cand = np.nonzero(near)[0]
        if len(cand) == 0:
            continue
        t0, e1, e2 = tri[cand, 0], tri[cand, 1] - tri[cand, 0], tri[cand, 2] - tri[cand, 0]
        p = np.cross(dirs[i], e2)
        det = (e1 * p).sum(-1)
        ok = np.abs(det) > 1e-14
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        s = origins[i] - t0
        u = (s * p).sum(-1) * inv
        q = np.cross(s, e1)
        v = (q @ dirs[i]) * inv
        t = (e2 * q).sum(-1) * inv
        hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        if not hit.any():
            continue
        k = int(np.argmin(np.where(hit, t, np.inf)) if nearest else np.argmax(np.where(hit, t, -np.inf)))
        face_out[i] = cand[k]
        bary_out[i] = (1.0 - u[k] - v[k], u[k], v[k])
        t_out[i] = t[k]
    return face_out, bary_out, t_out


JAW_CONTOUR: tuple[tuple[float, float], ...] = (
    (-0.0771, 0.0), (-0.0763, 9.2), (-0.0689, 23.3), (-0.0563, 41.2), (-0.0477, 53.4),
    (-0.0351, 66.6), (-0.0029, 80.0), (0.0122, 80.0), (0.0262, 69.3),
)
"""(height y in metres, azimuth in degrees from +z) of the iBUG-68 jaw points from the chin
(8) out to the ears (0/16). Measured, not drawn: where MediaPipe FaceMesh puts the face oval
on the built-in head rendered frontally (``mediapipe478.json``, its points 152 148 149 136 172
58 93 234 127 and their mirrors through ``MP478_TO_IBUG68``), left and right averaged; points
1-2 (14-15) are held at 80 degrees (FaceMesh: 84-86) so they stay on the face, in front of the
ear, and the silhouette in a frontal view moves by under 1 mm. The
earlier hand-placed contour sat 8-40 mm lower, which on real videos put the fitted jaw line
about 9 px (at 256 x 256) below the detected one."""


def _eye_point(side: float, dx: float, lid: float) -> tuple[float, float]:
    """A point on the eye opening: dx in [-1, 1] across it, lid +1 upper, -1 lower, 0 corner."""
    h = bs.FISSURE_HALF_H
    x = side * bs.EYE_X + dx * bs.FISSURE_HALF_W
    y = bs.EYE_Y + 0.12 * side * dx * h + lid * (h * np.sqrt(max(1.0 - dx * dx, 0.0)) + 0.0006)
    return x, y


def ibug68_targets(mouth_y: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Semantic iBUG-68 positions on the built-in head.

    Returns (origins [68, 3], directions [68, 3], lip_side [68] with +1 for points on the
    upper lip edge, -1 on the lower lip edge, 0 elsewhere). The jaw contour (0-16) is cast
    radially from the head's vertical axis; the inner face points straight along +z.
    Point order is iBUG's: image-left first, i.e. the subject's right (-x).
    """
    my = mouth_y
    origins, dirs = [], []
    lip = np.zeros(N_IBUG, dtype=np.int64)
    for i in range(17):
        y, az_deg = JAW_CONTOUR[abs(i - 8)]
        az = np.radians(az_deg) * np.sign(i - 8)
        origins.append((0.0, y, 0.0))
        dirs.append((np.sin(az), 0.0, np.cos(az)))
    front: list[tuple[float, float]] = []
    for x in (-0.056, -0.046, -0.035, -0.024, -0.013, 0.013, 0.024, 0.035, 0.046, 0.056):
        front.append((x, 0.043 + 0.006 * float(np.exp(-(((abs(x) - 0.034) / 0.02) ** 2)))))
    front += [(0.0, 0.034), (0.0, 0.024), (0.0, 0.013), (0.0, 0.002)]
    front += [(-0.012, -0.009), (-0.006, -0.011), (0.0, -0.0125), (0.006, -0.011), (0.012, -0.009)]
    front += [_eye_point(-1, -1, 0), _eye_point(-1, -0.4, 1), _eye_point(-1, 0.4, 1),
              _eye_point(-1, 1, 0), _eye_point(-1, 0.4, -1), _eye_point(-1, -0.4, -1)]
    front += [_eye_point(1, -1, 0), _eye_point(1, -0.4, 1), _eye_point(1, 0.4, 1),
              _eye_point(1, 1, 0), _eye_point(1, 0.4, -1), _eye_point(1, -0.4, -1)]
    mw = bs.MOUTH_HALF_W
    front += [(-mw, my), (-0.017, my + 0.0062), (-0.007, my + 0.0088), (0.0, my + 0.0082),
              (0.007, my + 0.0088), (0.017, my + 0.0062), (mw, my), (0.017, my - 0.0085),
              (0.007, my - 0.0115), (0.0, my - 0.012), (-0.007, my - 0.0115), (-0.017, my - 0.0085)]
    inner = [(-0.021, 1), (-0.008, 1), (0.0, 1), (0.008, 1), (0.021, 1), (0.008, -1), (0.0, -1),
             (-0.008, -1)]
    for k, (x, side) in enumerate(inner):
        front.append((x, my + side * 0.0004))
        lip[60 + k] = side
    for x, y in front:
        origins.append((x, y, 0.0))
        dirs.append((0.0, 0.0, 1.0))
    return np.asarray(origins), np.asarray(dirs), lip
