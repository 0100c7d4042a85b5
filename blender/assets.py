"""Procedural hair, beard and shoulder proxies built from a posed head (numpy, no bpy).

Every asset has a fixed topology per identity and is re-placed for each expression:

* :class:`ShellAsset`: an offset surface over a region of the head (hair over the scalp, beard
  over the jaw). Its vertices sit on head vertices pushed out along the head's normals by a
  thickness that tapers to zero at the region border, so the shell meets the skin without a
  gap and follows the jaw when the mouth opens.
* :class:`RigidAsset`: a mesh that does not deform with expressions (long-hair curtain, bun,
  neck/shoulder stub).

Styles: hair ``bald | short | long | bun``; beard ``none | stubble | goatee | full``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from blender.meshops import (
    Mesh,
    ellipsoid,
    grid_faces,
    ring_distance,
    smoothstep,
    submesh,
    value_noise,
    vertex_normals,
)

HAIR_STYLES = ("bald", "short", "long", "bun")
BEARD_STYLES = ("none", "stubble", "goatee", "full")


class AssetError(ValueError):
    """An asset cannot be built from the given head or style; the message names the fix."""


@dataclass(frozen=True)
class ShellAsset:
    """Offset surface over head vertices ``vertex_ids`` (fixed topology, follows the head)."""

    name: str
    category: str
    vertex_ids: np.ndarray  # [k] indices into the head's vertices
    faces: np.ndarray  # [F, 3] indices into vertex_ids
    thickness: np.ndarray  # [k] metres along the head normal

    def place(self, head_vertices: np.ndarray, head_normals: np.ndarray) -> np.ndarray:
        """Shell vertices [k, 3] for one posed head ([V, 3] vertices and unit normals)."""
        ids = self.vertex_ids
        return head_vertices[ids] + head_normals[ids] * self.thickness[:, None]


@dataclass(frozen=True)
class RigidAsset:
    """A mesh that keeps its shape across expressions."""

    name: str
    category: str
    mesh: Mesh

    @property
    def faces(self) -> np.ndarray:
        return self.mesh.faces

    def place(self, head_vertices: np.ndarray, head_normals: np.ndarray) -> np.ndarray:
        """The mesh's vertices [n, 3] (independent of the expression)."""
        return self.mesh.vertices


Asset = ShellAsset | RigidAsset


@dataclass(frozen=True)
class HeadRegions:
    """Landmarks of a neutral head used to place assets (metres, +y up, face toward +z)."""

    vertices: np.ndarray  # [V, 3] neutral vertices
    faces: np.ndarray  # [F, 3]
    labels: np.ndarray  # [V] part index
    part_names: tuple[str, ...]
    normals: np.ndarray = field(init=False)  # [V, 3]

    def __post_init__(self) -> None:
        missing = [p for p in ("face", "scalp", "neck") if p not in self.part_names]
        if missing:
            raise AssetError(f"head model has no part(s) {missing}; part names are "
                             f"{self.part_names}: hair and beard need face, scalp and neck")
        object.__setattr__(self, "normals", vertex_normals(self.vertices, self.faces))

    def mask(self, part: str) -> np.ndarray:
        """[V] bool vertices of one part (all False when the model lacks that part)."""
        if part not in self.part_names:
            return np.zeros(len(self.vertices), dtype=bool)
        return self.labels == self.part_names.index(part)

    @property
    def mouth_center(self) -> np.ndarray:
        """Centre of the mouth part, or a point below the nose tip when there is none."""
        m = self.mask("mouth")
        if m.any():
            return self.vertices[m].mean(0)
        tip = self.vertices[np.argmax(self.vertices[:, 2])]
        return tip + np.array([0.0, -0.033, -0.045])

    @property
    def axis_z(self) -> float:
        """z of the head's vertical axis (middle of the scalp's depth)."""
        s = self.vertices[self.mask("scalp")]
        return float(0.5 * (s[:, 2].min() + s[:, 2].max()))


def _phases(rng: np.random.Generator, octaves: int = 3) -> np.ndarray:
    return np.concatenate([rng.normal(size=(octaves, 3)), rng.uniform(0, 6.283, (octaves, 1))], 1)


def _shell(head: HeadRegions, name: str, category: str, keep: np.ndarray, thickness: float,
           taper_rings: int, roughness: float, rng: np.random.Generator) -> ShellAsset:
    ids, faces = submesh(head.faces, keep)
    if len(faces) < 8:
        raise AssetError(f"{name}: the region over the head has {len(faces)} faces; the head "
                         "model's part labels do not cover it (check part_labels)")
    ring = ring_distance(head.faces, len(head.vertices), keep, taper_rings + 1)[ids]
    taper = smoothstep(ring, 0.0, float(taper_rings))
    noise = value_noise(head.vertices[ids], 90.0, _phases(rng))
    t = thickness * taper * (1.0 + roughness * noise)
    return ShellAsset(name, category, ids, faces, np.maximum(t, 0.0))


def _radius_profile(head: HeadRegions, y: float, n_bins: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal head radius around the vertical axis at height ``y`` per azimuth bin."""
    v = head.vertices
    band = np.abs(v[:, 1] - y) < 0.02
    dx, dz = v[band, 0], v[band, 2] - head.axis_z
    az = np.arctan2(dx, dz)
    r = np.hypot(dx, dz)
    edges_ = np.linspace(-np.pi, np.pi, n_bins + 1)
    centers = 0.5 * (edges_[1:] + edges_[:-1])
    out = np.zeros(n_bins)
    idx = np.clip(np.digitize(az, edges_) - 1, 0, n_bins - 1)
    np.maximum.at(out, idx, r)
    good = out > 0
    if good.sum() < 4:
        raise AssetError(f"head has too few vertices near y={y:.3f} m to fit long hair")
    out = np.interp(centers, centers[good], out[good], period=2 * np.pi)
    return centers, out


def _curtain(head: HeadRegions, length: float, thickness: float, rng: np.random.Generator) -> RigidAsset:
    """Long hair hanging behind the ears: a flared sheet from the temples to ``length`` below."""
    eye_y = float(head.vertices[head.mask("eyes")][:, 1].mean()) if head.mask("eyes").any() else 0.03
    y_top = eye_y - 0.005
    bins, radius = _radius_profile(head, y_top)
    neck_y = float(head.vertices[head.mask("neck")][:, 1].min())
    y_bot = max(y_top - length, neck_y + 0.03)
    az = np.radians(np.linspace(92.0, 268.0, 28))
    az = np.where(az > np.pi, az - 2 * np.pi, az)
    r0 = np.interp(az, bins, radius, period=2 * np.pi) + 0.55 * thickness
    wave = value_noise(np.stack([np.cos(az), np.sin(az), np.zeros_like(az)], 1), 3.0, _phases(rng))
    # the hem is longest at the back and rises toward the front edges
    back = np.cos(0.5 * (np.abs(az) - np.pi))  # 1 at the back, ~0.7 at the front edges
    bottom = y_top - (y_top - y_bot) * (0.55 + 0.45 * back**4) + 0.008 * wave
    rows = []
    for t in np.linspace(0.0, 1.0, 12):
        y = y_top + t * (bottom - y_top)
        r = r0 + 0.012 * t + 0.006 * t * wave
        rows.append(np.stack([r * np.sin(az), y, head.axis_z + r * np.cos(az)], 1))
    ys = np.linspace(0.0, 1.0, 12)
    v = np.concatenate(rows)
    return RigidAsset("hair_long", "hair", Mesh(v, grid_faces(len(ys), len(az))))


def _bun(head: HeadRegions, thickness: float, rng: np.random.Generator) -> RigidAsset:
    scalp = head.mask("scalp")
    center = np.array([0.0, head.vertices[scalp][:, 1].mean(), head.axis_z])
    d = np.array([0.0, 0.55, -0.84])
    ids = np.nonzero(scalp)[0]
    top = ids[np.argmax((head.vertices[ids] - center) @ d)]
    r = rng.uniform(0.026, 0.036)
    c = head.vertices[top] + head.normals[top] * (thickness + 0.7 * r)
    return RigidAsset("hair_bun", "hair", ellipsoid(c, np.array([r, 0.85 * r, r])))


def hair_assets(head: HeadRegions, style: str, rng: np.random.Generator,
                thickness: float = 0.007, length: float = 0.2) -> list[Asset]:
    """Hair proxies for ``style`` (see ``HAIR_STYLES``)."""
    if style not in HAIR_STYLES:
        raise AssetError(f"hair style {style!r} is not one of {HAIR_STYLES}")
    if style == "bald":
        return []
    scalp = head.mask("scalp")
    t = thickness * (1.6 if style == "long" else 1.0)
    out: list[Asset] = [_shell(head, "hair", "hair", scalp, t, 3, 0.35, rng)]
    if style == "long":
        out.append(_curtain(head, length, t, rng))
    if style == "bun":
        out.append(_bun(head, t, rng))
    return out


def beard_region(head: HeadRegions) -> np.ndarray:
    """[V] bool: jaw, chin, cheeks below the nose and a moustache band, lips left free."""
    v = head.vertices
    mc = head.mouth_center
    x, y, z = v[:, 0], v[:, 1] - mc[1], v[:, 2]
    skin = head.mask("face") | head.mask("neck")
    lips = (x / 0.030) ** 2 + (y / 0.015) ** 2 < 1.0
    front = z > head.axis_z + 0.005
    neck_ok = ~head.mask("neck") | ((z > head.axis_z + 0.02) & (y > -0.085))
    return skin & front & neck_ok & (y < 0.02) & (y > -0.11) & ~lips


def beard_assets(head: HeadRegions, style: str, rng: np.random.Generator,
                 thickness: float = 0.009) -> list[Asset]:
    """Beard proxies for ``style`` (see ``BEARD_STYLES``)."""
    if style not in BEARD_STYLES:
        raise AssetError(f"beard style {style!r} is not one of {BEARD_STYLES}")
    if style == "none":
        return []
    region = beard_region(head)
    if style == "goatee":
        region &= np.abs(head.vertices[:, 0]) < 0.028
        return [_shell(head, "beard", "beard", region, thickness, 2, 0.3, rng)]
    if style == "stubble":
        return [_shell(head, "beard", "beard", region, 0.0015, 1, 0.2, rng)]
    return [_shell(head, "beard", "beard", region, thickness, 3, 0.35, rng)]


def torso_asset(head: HeadRegions, width: float = 0.21) -> RigidAsset:
    """Neck extension and shoulders below the head mesh's neck opening."""
    neck = head.vertices[head.mask("neck")]
    y0 = float(neck[:, 1].min())
    low = neck[neck[:, 1] < y0 + 0.01]
    cz = float(0.5 * (low[:, 2].min() + low[:, 2].max()))
    rx = 0.5 * float(low[:, 0].max() - low[:, 0].min())
    rz = 0.5 * float(low[:, 2].max() - low[:, 2].min())
    # (height below the opening, x radius, z radius, z offset)
    prof = [(-0.012, 0.96 * rx, 0.96 * rz, 0.0), (-0.004, 0.99 * rx, 0.99 * rz, 0.0),
            (0.003, 1.015 * rx, 1.015 * rz, 0.0), (0.02, 1.03 * rx, 1.02 * rz, 0.0),
            (0.045, 0.55 * width, 0.7 * rz + 0.02, -0.01), (0.075, 0.9 * width, 0.11, -0.02),
            (0.105, width, 0.12, -0.02), (0.2, 1.02 * width, 0.125, -0.02)]
    lon = np.linspace(0.0, 2 * np.pi, 48, endpoint=False)
    rows = [np.stack([a * np.sin(lon), np.full_like(lon, y0 - dy),
                      cz + dz + c * np.cos(lon)], 1) for dy, a, c, dz in prof]
    v = np.concatenate(rows + [np.array([[0.0, y0 - prof[-1][0], cz - 0.02]])])
    body = grid_faces(len(prof), len(lon), wrap=True)
    last = (len(prof) - 1) * len(lon)
    cap = [(len(v) - 1, last + (i + 1) % len(lon), last + i) for i in range(len(lon))]
    return RigidAsset("torso", "neck", Mesh(v, np.concatenate([body, np.asarray(cap)])))


def build_assets(head: HeadRegions, hair: dict[str, Any], beard: dict[str, Any],
                 seed: int) -> list[Asset]:
    """All proxies of one identity: hair, beard and the shoulder stub."""
    rng = np.random.default_rng(seed)
    out = hair_assets(head, str(hair["style"]), rng, float(hair.get("thickness", 0.007)),
                      float(hair.get("length", 0.2)))
    out += beard_assets(head, str(beard["style"]), rng, float(beard.get("thickness", 0.009)))
    out.append(torso_asset(head))
    return out
