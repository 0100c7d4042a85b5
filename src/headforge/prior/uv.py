"""Sample points in the head model's UV layout, per part and density.

The prior decodes Gaussian parameters as images in UV space. Gaussians live at sample points of
that layout: a regular grid of texel centres per part, each found inside one UV triangle with
its barycentric coordinates. The same (triangle, barycentrics) pair then places the Gaussian on
the posed 3D mesh. Each part has its own grid resolution, so the scalp (hair) can be sampled
more densely than the face without a finer grid everywhere.

Pure numpy; run once per model and cached by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class UVSamples:
    """Gaussian sample points: where they sit in UV and on the mesh."""

    face_index: np.ndarray
    """[N] int64: triangle holding each sample (index into the model's faces/uv_faces)."""
    bary: np.ndarray
    """[N, 3] float32: barycentric coordinates inside that triangle (rows sum to 1)."""
    uv: np.ndarray
    """[N, 2] float32: UV coordinates in [0, 1] (u right, v down the decoded maps' rows)."""
    part: np.ndarray
    """[N] int64: part id of the sample (index into the model's PART_NAMES)."""
    spacing: np.ndarray
    """[N] float32: UV distance between neighbouring samples of this sample's grid."""

    def __len__(self) -> int:
        return int(self.face_index.shape[0])

    def counts(self, part_names: Sequence[str]) -> dict[str, int]:
        """Samples per part name."""
        return {n: int((self.part == i).sum()) for i, n in enumerate(part_names)}


def triangle_parts(faces: np.ndarray, part_labels: np.ndarray) -> np.ndarray:
    """Part of each triangle: the most common label of its three vertices (ties: first vertex).

    faces: [F, 3] vertex ids; part_labels: [V] -> [F] int64.
    """
    lab = np.asarray(part_labels, dtype=np.int64)[np.asarray(faces, dtype=np.int64)]  # [F,3]
    out = lab[:, 0].copy()
    out = np.where(lab[:, 1] == lab[:, 2], lab[:, 1], out)
    return out


def uv_grid_samples(
    uvs: np.ndarray, uv_faces: np.ndarray, tri_ids: np.ndarray, res: int, eps: float = 1e-6
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Texel centres of a ``res x res`` grid that fall inside the given UV triangles.

    uvs: [T, 2] in [0, 1]; uv_faces: [F, 3]; tri_ids: [M] triangles to rasterise.
    Returns (face_index [N], bary [N, 3], uv [N, 2]); a texel covered by several triangles
    (shared edges) is kept once, by the lowest triangle id.
    """
    if res < 1:
        raise ValueError(f"UV grid resolution must be >= 1, got {res}")
    tri_ids = np.asarray(tri_ids, dtype=np.int64)
    if tri_ids.size == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, np.zeros((0, 3), np.float32), np.zeros((0, 2), np.float32)
    p = np.asarray(uvs, dtype=np.float64)[np.asarray(uv_faces, dtype=np.int64)[tri_ids]]  # [M,3,2]
    lo = np.clip(np.floor(p.min(axis=1) * res - 0.5), 0, res - 1).astype(np.int64)  # [M,2]
    hi = np.clip(np.ceil(p.max(axis=1) * res - 0.5), 0, res - 1).astype(np.int64)
    w = hi[:, 0] - lo[:, 0] + 1
    h = hi[:, 1] - lo[:, 1] + 1
    n = w * h
    tri = np.repeat(np.arange(len(tri_ids)), n)
    start = np.repeat(np.cumsum(n) - n, n)
    k = np.arange(int(n.sum())) - start
    ix = lo[tri, 0] + k % w[tri]
    iy = lo[tri, 1] + k // w[tri]
    q = np.stack([(ix + 0.5) / res, (iy + 0.5) / res], axis=-1)  # [K,2]
    a, b, c = p[tri, 0], p[tri, 1], p[tri, 2]
    v0, v1, v2 = b - a, c - a, q - a
    d00 = (v0 * v0).sum(-1)
    d01 = (v0 * v1).sum(-1)
    d11 = (v1 * v1).sum(-1)
    d20 = (v2 * v0).sum(-1)
    d21 = (v2 * v1).sum(-1)
    den = d00 * d11 - d01 * d01
    ok = np.abs(den) > 1e-18
    den = np.where(ok, den, 1.0)
    l1 = (d11 * d20 - d01 * d21) / den
    l2 = (d00 * d21 - d01 * d20) / den
    l0 = 1.0 - l1 - l2
    inside = ok & (l0 >= -eps) & (l1 >= -eps) & (l2 >= -eps)
    texel = iy * res + ix
    order = np.lexsort((tri_ids[tri], texel))  # by texel, then triangle id
    order = order[inside[order]]
    _, first = np.unique(texel[order], return_index=True)
    sel = order[first]
    bary = np.clip(np.stack([l0, l1, l2], axis=-1)[sel], 0.0, 1.0)
    bary /= bary.sum(-1, keepdims=True)
    return tri_ids[tri[sel]], bary.astype(np.float32), q[sel].astype(np.float32)


def part_resolution(uv_res: int, density: float) -> int:
    """Grid resolution giving ``density`` samples per texel of a ``uv_res`` map."""
    if density <= 0:
        raise ValueError(f"part density must be > 0, got {density}")
    return max(1, int(round(uv_res * float(np.sqrt(density)))))


def part_samples(
    uvs: np.ndarray,
    uv_faces: np.ndarray,
    faces: np.ndarray,
    part_labels: np.ndarray,
    part_names: Sequence[str],
    uv_res: int,
    densities: Mapping[str, float],
    default_density: float = 1.0,
) -> UVSamples:
    """Per-part UV sample points.

    ``densities`` maps part names to Gaussians per texel of the ``uv_res`` map (parts not named
    use ``default_density``): part ``p`` is sampled on a grid of ``uv_res * sqrt(density_p)``.
    """
    unknown = sorted(set(densities) - set(part_names))
    if unknown:
        raise ValueError(f"densities name unknown parts {unknown}; parts are {list(part_names)}")
    tparts = triangle_parts(faces, part_labels)
    fis, bs, us, ps, ss = [], [], [], [], []
    for pid, name in enumerate(part_names):
        tri = np.nonzero(tparts == pid)[0]
        if tri.size == 0:
            continue
        res = part_resolution(uv_res, densities.get(name, default_density))
        fi, b, u = uv_grid_samples(uvs, uv_faces, tri, res)
        fis.append(fi)
        bs.append(b)
        us.append(u)
        ps.append(np.full(len(fi), pid, dtype=np.int64))
        ss.append(np.full(len(fi), 1.0 / res, dtype=np.float32))
    if not fis or sum(len(f) for f in fis) == 0:
        raise ValueError("no UV sample point fell inside any triangle: check the model's UV "
                         "layout (uvs in [0, 1]) or raise uv_res")
    return UVSamples(
        face_index=np.concatenate(fis),
        bary=np.concatenate(bs),
        uv=np.concatenate(us),
        part=np.concatenate(ps),
        spacing=np.concatenate(ss),
    )


def uv_area(uvs: np.ndarray, uv_faces: np.ndarray) -> np.ndarray:
    """Unsigned UV area of each triangle: [F]."""
    p = np.asarray(uvs, dtype=np.float64)[np.asarray(uv_faces, dtype=np.int64)]
    e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    return 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
