"""Small triangle-mesh helpers in numpy (no bpy): normals, rings, sub-meshes, primitives.

Used by the asset builders (hair, beard, body) that run inside the Blender subprocess; kept free
of ``bpy`` so they can be tested in any Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Mesh:
    """A triangle mesh with optional per-corner UVs."""

    vertices: np.ndarray  # [V, 3] float
    faces: np.ndarray  # [F, 3] int
    uvs: np.ndarray | None = None  # [T, 2] float in [0, 1]
    uv_faces: np.ndarray | None = None  # [F, 3] int into uvs

    def __post_init__(self) -> None:
        v, f = np.asarray(self.vertices), np.asarray(self.faces)
        if v.ndim != 2 or v.shape[1] != 3:
            raise ValueError(f"vertices must be [V, 3], got {list(v.shape)}")
        if f.ndim != 2 or f.shape[1] != 3:
            raise ValueError(f"faces must be [F, 3], got {list(f.shape)}")
        if len(f) and (f.min() < 0 or f.max() >= len(v)):
            raise ValueError(f"faces index vertices outside [0, {len(v)})")
        if not np.isfinite(v).all():
            raise ValueError("vertices contain NaN or inf")


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals [V, 3] (zero-area fans get +y)."""
    v = np.asarray(vertices, dtype=np.float64)
    tri = v[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # [F, 3], length = 2 * area
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    out = np.where(length > 1e-12, n / np.maximum(length, 1e-12), np.array([0.0, 1.0, 0.0]))
    return out


def edges(faces: np.ndarray) -> np.ndarray:
    """Unique undirected edges [E, 2] (sorted pairs)."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return np.unique(np.sort(e, axis=1), axis=0)


def ring_distance(faces: np.ndarray, n_vertices: int, inside: np.ndarray, max_rings: int) -> np.ndarray:
    """Edge-hop distance [V] of each ``inside`` vertex from the region's border.

    A border vertex (inside, with a neighbour outside) is at 0; vertices outside get -1;
    distances are capped at ``max_rings``.
    """
    e = edges(faces)
    a, b = e[:, 0], e[:, 1]
    dist = np.full(n_vertices, max_rings, dtype=np.int64)
    dist[~inside] = -1
    cross = inside[a] != inside[b]
    border = np.zeros(n_vertices, dtype=bool)
    border[a[cross]] = True
    border[b[cross]] = True
    border &= inside
    dist[border] = 0
    for r in range(1, max_rings):
        front = dist == r - 1
        nxt = np.zeros(n_vertices, dtype=bool)
        nxt[b[front[a]]] = True
        nxt[a[front[b]]] = True
        dist[nxt & inside & (dist > r)] = r
    return dist


def submesh(faces: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Faces whose three vertices are all in ``keep`` [V] bool.

    Returns (vertex ids [k] into the original mesh, faces [F', 3] into those ids).
    """
    sel = keep[faces].all(axis=1)
    used = np.unique(faces[sel])
    remap = np.full(len(keep), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return used, remap[faces[sel]]


def smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Hermite step from 0 at ``lo`` to 1 at ``hi``."""
    t = np.clip((np.asarray(x, dtype=np.float64) - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def value_noise(points: np.ndarray, frequency: float, phases: np.ndarray) -> np.ndarray:
    """Smooth deterministic noise in [-1, 1] at ``points`` [N, 3] from sums of sines.

    ``phases`` [K, 4] holds per-octave direction (3) and phase (1); the result is a fixed
    function of the points, so every expression of one identity gets the same pattern.
    """
    p = np.asarray(points, dtype=np.float64)
    out = np.zeros(len(p))
    for k, row in enumerate(np.asarray(phases, dtype=np.float64)):
        d = row[:3] / max(np.linalg.norm(row[:3]), 1e-9)
        f = frequency * (1.7**k)
        out += np.sin(f * (p @ d) + row[3]) / (1.6**k)
    norm = sum(1.0 / (1.6**k) for k in range(len(phases)))
    return out / max(norm, 1e-9)


def grid_faces(rows: int, cols: int, wrap: bool = False) -> np.ndarray:
    """Triangles [F, 3] of a ``rows`` x ``cols`` vertex grid (row-major), optionally closed
    around the column direction."""
    faces = []
    ncol = cols if wrap else cols - 1
    for r in range(rows - 1):
        for c in range(ncol):
            c1 = (c + 1) % cols
            a, b = r * cols + c, r * cols + c1
            d, e = (r + 1) * cols + c, (r + 1) * cols + c1
            faces.append((a, d, b))
            faces.append((b, d, e))
    return np.asarray(faces, dtype=np.int64).reshape(-1, 3)


def ellipsoid(center: np.ndarray, radii: np.ndarray, n_lat: int = 10, n_lon: int = 16) -> Mesh:
    """A closed UV ellipsoid (poles included)."""
    lat = np.linspace(0.0, np.pi, n_lat)[1:-1]
    lon = np.linspace(0.0, 2.0 * np.pi, n_lon, endpoint=False)
    sl, cl = np.sin(lat)[:, None], np.cos(lat)[:, None]
    ring = np.stack(
        [sl * np.cos(lon)[None], cl * np.ones_like(lon)[None], sl * np.sin(lon)[None]], -1
    ).reshape(-1, 3)
    pts = np.concatenate([[[0.0, 1.0, 0.0]], ring, [[0.0, -1.0, 0.0]]])
    v = np.asarray(center) + pts * np.asarray(radii)
    body = grid_faces(len(lat), n_lon, wrap=True) + 1
    top = [(0, 1 + (i + 1) % n_lon, 1 + i) for i in range(n_lon)]
    last = 1 + (len(lat) - 1) * n_lon
    bottom = [(len(v) - 1, last + i, last + (i + 1) % n_lon) for i in range(n_lon)]
    return Mesh(v, np.concatenate([np.asarray(top), body, np.asarray(bottom)]).astype(np.int64))
