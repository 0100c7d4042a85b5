"""A small CPU z-buffer triangle rasteriser with Lambert shading (numpy, vectorised).

Meant for pictures and QA overlays (mesh over a photo), not for training. Cameras follow
:mod:`headforge.cameras` (OpenCV: x right, y down, z forward, pixel centres at integer
coordinates, world-to-camera ``w2c``).

    out = render_mesh(vertices, faces, K, w2c, width, height, colors=per_vertex_rgb)
    out.image  # [H, W, 3] float in [0, 1];  out.raster.face_id  # [H, W], -1 = background
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_PAIRS_PER_CHUNK = 4_000_000
_NEAR = 1e-4


@dataclass(frozen=True)
class Raster:
    """Visibility per pixel."""

    face_id: np.ndarray  # [H, W] int64, -1 where no triangle covers the pixel
    bary: np.ndarray  # [H, W, 3] perspective-correct barycentric coordinates (0 on background)
    depth: np.ndarray  # [H, W] camera-space z, +inf on background

    @property
    def mask(self) -> np.ndarray:
        """[H, W] bool foreground."""
        return self.face_id >= 0


@dataclass(frozen=True)
class MeshRender:
    """A shaded image and the raster it came from."""

    image: np.ndarray  # [H, W, 3] float64 in [0, 1]
    raster: Raster


def to_camera(vertices: np.ndarray, w2c: np.ndarray) -> np.ndarray:
    """World points [V, 3] -> camera coordinates [V, 3] with a 4x4 world-to-camera matrix."""
    w2c = np.asarray(w2c, dtype=np.float64)
    return vertices @ w2c[:3, :3].T + w2c[:3, 3]


def rasterize(
    verts_cam: np.ndarray,  # [V, 3] camera coordinates (z forward)
    faces: np.ndarray,  # [F, 3]
    K: np.ndarray,  # [3, 3] pixel intrinsics  # noqa: N803
    width: int,
    height: int,
) -> Raster:
    """Nearest triangle per pixel centre (z-buffer), with perspective-correct barycentrics.

    Triangles with any vertex behind ``z = 1e-4`` are skipped.
    """
    verts_cam = np.asarray(verts_cam, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    z = verts_cam[:, 2]
    zs = np.where(z > _NEAR, z, 1.0)
    uv = (verts_cam @ np.asarray(K, dtype=np.float64).T)[:, :2] / zs[:, None]
    tri = uv[faces]  # [F, 3, 2]
    tz = z[faces]  # [F, 3]
    ok = (tz > _NEAR).all(1)
    x0 = np.clip(np.ceil(tri[..., 0].min(1)), 0, width - 1).astype(np.int64)
    x1 = np.clip(np.floor(tri[..., 0].max(1)), 0, width - 1).astype(np.int64)
    y0 = np.clip(np.ceil(tri[..., 1].min(1)), 0, height - 1).astype(np.int64)
    y1 = np.clip(np.floor(tri[..., 1].max(1)), 0, height - 1).astype(np.int64)
    inside_img = (tri[..., 0].max(1) >= 0) & (tri[..., 0].min(1) <= width - 1)
    inside_img &= (tri[..., 1].max(1) >= 0) & (tri[..., 1].min(1) <= height - 1)
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok &= inside_img & (np.abs(area) > 1e-12) & (x1 >= x0) & (y1 >= y0)
    ids = np.nonzero(ok)[0]
    bw, bh = (x1 - x0 + 1)[ids], (y1 - y0 + 1)[ids]
    counts = bw * bh

    best_z = np.full(width * height, np.inf)
    best_f = np.full(width * height, -1, dtype=np.int64)
    best_b = np.zeros((width * height, 3))
    start = 0
    while start < len(ids):
        csum = np.cumsum(counts[start:])
        stop = start + max(1, int(np.searchsorted(csum, _PAIRS_PER_CHUNK)))
        sel = ids[start:stop]
        n = counts[start:stop]
        first = np.repeat(np.cumsum(n) - n, n)
        local = np.arange(int(n.sum())) - first
        f = np.repeat(sel, n)
        w = np.repeat(bw[start:stop], n)
        px = x0[f] + local % w
        py = y0[f] + local // w
        p = np.stack([px, py], -1).astype(np.float64) - tri[f, 0]
        inv = 1.0 / area[f]
        b1 = (p[:, 0] * e2[f, 1] - p[:, 1] * e2[f, 0]) * inv
        b2 = (e1[f, 0] * p[:, 1] - e1[f, 1] * p[:, 0]) * inv
        b0 = 1.0 - b1 - b2
        hit = (b0 >= -1e-9) & (b1 >= -1e-9) & (b2 >= -1e-9)
        f, px, py = f[hit], px[hit], py[hit]
        bs = np.stack([b0[hit], b1[hit], b2[hit]], -1) / tz[f]
        inv_z = bs.sum(1)
        depth = 1.0 / inv_z
        pix = py * width + px
        order = np.lexsort((depth, pix))
        pix, depth = pix[order], depth[order]
        keep = np.ones(len(pix), bool)
        keep[1:] = pix[1:] != pix[:-1]
        pix, depth, order = pix[keep], depth[keep], order[keep]
        better = depth < best_z[pix]
        pix, order = pix[better], order[better]
        best_z[pix] = depth[better]
        best_f[pix] = f[order]
        best_b[pix] = bs[order] / inv_z[order, None]
        start = stop
    return Raster(
        face_id=best_f.reshape(height, width),
        bary=best_b.reshape(height, width, 3),
        depth=best_z.reshape(height, width),
    )


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals [V, 3] (zero for unreferenced vertices)."""
    v = np.asarray(vertices, dtype=np.float64)
    fn = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    norm = np.linalg.norm(n, axis=1, keepdims=True)
    return n / np.where(norm > 0, norm, 1.0)


def interpolate(raster: Raster, faces: np.ndarray, attr: np.ndarray) -> np.ndarray:
    """Per-vertex attribute [V, C] -> per-pixel [H, W, C] (0 on background)."""
    fid = np.where(raster.mask, raster.face_id, 0)
    vals = (attr[faces[fid]] * raster.bary[..., None]).sum(-2)
    return np.where(raster.mask[..., None], vals, 0.0)


def shade_lambert(
    raster: Raster,
    verts_cam: np.ndarray,  # [V, 3]
    faces: np.ndarray,  # [F, 3]
    colors: np.ndarray | None = None,  # [V, 3] albedo in [0, 1]; default light grey
    light_dir: tuple[float, float, float] = (-0.3, -0.4, -1.0),  # toward the light, camera frame
    ambient: float = 0.25,
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> np.ndarray:
    """Two-sided Lambert shading of a raster with smooth vertex normals: -> [H, W, 3] in [0, 1]."""
    n_pix = interpolate(raster, faces, vertex_normals(verts_cam, faces))
    n_pix /= np.maximum(np.linalg.norm(n_pix, axis=-1, keepdims=True), 1e-12)
    # Camera looks along +z: a normal facing the camera has n.z < 0; flip the others.
    n_pix *= np.where(n_pix[..., 2:3] > 0, -1.0, 1.0)
    light = np.asarray(light_dir, dtype=np.float64)
    light /= np.linalg.norm(light)
    diffuse = np.clip(n_pix @ light, 0.0, 1.0)
    albedo = (
        interpolate(raster, faces, np.asarray(colors, dtype=np.float64))
        if colors is not None
        else np.full((*raster.face_id.shape, 3), 0.8)
    )
    img = albedo * (ambient + (1.0 - ambient) * diffuse)[..., None]
    return np.where(raster.mask[..., None], np.clip(img, 0.0, 1.0), np.asarray(background))


def render_mesh(
    vertices: np.ndarray,  # [V, 3] world
    faces: np.ndarray,  # [F, 3]
    K: np.ndarray,  # [3, 3]  # noqa: N803
    w2c: np.ndarray,  # [4, 4]
    width: int,
    height: int,
    colors: np.ndarray | None = None,  # [V, 3]
    light_dir: tuple[float, float, float] = (-0.3, -0.4, -1.0),
    ambient: float = 0.25,
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> MeshRender:
    """Rasterise and shade a mesh seen by an OpenCV camera."""
    cam = to_camera(np.asarray(vertices, dtype=np.float64), w2c)
    faces = np.asarray(faces, dtype=np.int64)
    raster = rasterize(cam, faces, K, width, height)
    image = shade_lambert(raster, cam, faces, colors, light_dir, ambient, background)
    return MeshRender(image=image, raster=raster)


def overlay(
    photo: np.ndarray,  # [H, W, 3] float in [0, 1] or uint8
    render: MeshRender,
    alpha: float = 0.5,
) -> np.ndarray:
    """Blend a render over a photo where the mesh covers it: -> [H, W, 3] float in [0, 1]."""
    base = np.asarray(photo, dtype=np.float64)
    if base.max() > 1.0:
        base = base / 255.0
    m = render.raster.mask[..., None]
    return np.where(m, (1 - alpha) * base + alpha * render.image, base)
