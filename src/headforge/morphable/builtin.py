"""The project's own open FLAME-format head model, generated deterministically by code.

``build_builtin()`` returns the same keys and layout as a FLAME ``.pkl`` (``f``,
``v_template``, ``shapedirs`` [V, 3, n_shape + n_expr], ``posedirs`` [V, 3, 36],
``J_regressor`` [5, V], ``J``, ``weights`` [V, 5], ``kintree_table`` [2, 5], ``bs_style``,
``bs_type``) plus the optional keys :mod:`headforge.morphable.io` understands: UVs (``vt``,
``ft``), part labels, landmark embeddings and the identity/expression split. Save it with
``io.save_flame`` and it loads through the same path as a licensed FLAME file.
"""

from __future__ import annotations

import functools
import hashlib
import json
import warnings
from importlib import resources

import numpy as np

from headforge.morphable.builtin_bases import EXPRESSION_NAMES, expression_basis, identity_basis
from headforge.morphable.builtin_mesh import (
    REGION_EYE_L,
    REGION_EYE_R,
    REGION_MOUTH,
    HeadMesh,
    build_mesh,
)
from headforge.morphable.builtin_rig import (
    KINTREE,
    joint_regressor,
    pose_correctives,
    skinning_weights,
)
from headforge.morphable.landmarks import ibug68_targets, ray_hits

BUILTIN_NAME = "headforge-builtin-v1"
PART_NAMES: tuple[str, ...] = ("face", "scalp", "neck", "eyes", "mouth", "ears")
MEDIAPIPE_DATA = "mediapipe478.json"

# Hairline and neckline heights (m) against |azimuth| (degrees from the face's direction).
HAIRLINE_AZ = [0.0, 40.0, 70.0, 88.0, 102.0, 116.0, 135.0, 180.0]
HAIRLINE_Y = [0.080, 0.076, 0.062, 0.044, 0.044, -0.060, -0.052, -0.050]
_NECK_AZ = [0.0, 40.0, 70.0, 95.0, 116.0, 135.0, 180.0]
_NECK_Y = [-0.096, -0.092, -0.085, -0.076, -0.060, -0.052, -0.050]


def part_labels(mesh: HeadMesh) -> np.ndarray:
    """Per-vertex part index [V] into ``PART_NAMES``."""
    y = mesh.vertices[:, 1]
    deg = np.degrees(np.abs(mesh.az))
    hair = np.interp(deg, HAIRLINE_AZ, HAIRLINE_Y)
    neck = np.interp(deg, _NECK_AZ, _NECK_Y)
    labels = np.zeros(len(y), dtype=np.int64)
    labels[y >= hair] = PART_NAMES.index("scalp")
    labels[(y < neck) & (mesh.vparam > 0.45)] = PART_NAMES.index("neck")
    labels[mesh.ear_mask > 0.08] = PART_NAMES.index("ears")
    labels[mesh.region == REGION_MOUTH] = PART_NAMES.index("mouth")
    labels[(mesh.region == REGION_EYE_L) | (mesh.region == REGION_EYE_R)] = PART_NAMES.index("eyes")
    return labels


def ibug68_embedding(mesh: HeadMesh) -> tuple[np.ndarray, np.ndarray]:
    """iBUG-68 triangle indices [68] and barycentrics [68, 3] on the built-in head's skin."""
    origins, dirs, lip = ibug68_targets(mesh.mouth_y)
    f = mesh.faces
    skin = (mesh.region[f] == 0).all(1)
    low = mesh.lower_mouth[f].all(1)
    up = ~mesh.lower_mouth[f].any(1)
    allowed = np.broadcast_to(skin, (len(origins), len(f))).copy()
    allowed[lip > 0] &= up
    allowed[lip < 0] &= low
    face_idx, bary, _ = ray_hits(origins, dirs, mesh.vertices, f, allowed)
    miss = face_idx < 0  # coarse grids: an inner-lip corner may fall just outside its lip
    if miss.any():
        face_idx[miss], bary[miss], _ = ray_hits(origins[miss], dirs[miss], mesh.vertices, f, skin)
    if (face_idx < 0).any():
        raise RuntimeError(f"iBUG-68 points {np.nonzero(face_idx < 0)[0]} missed the head")
    return face_idx, bary


def mesh_fingerprint(v_template: np.ndarray, faces: np.ndarray) -> str:
    """Hash of the topology and the (micrometre-rounded) mean shape."""
    h = hashlib.sha256(np.ascontiguousarray(faces, dtype=np.int64).tobytes())
    h.update(np.round(np.asarray(v_template, dtype=np.float64), 6).tobytes())
    return h.hexdigest()


def read_mediapipe_data() -> dict | None:
    """The committed MediaPipe-478 calibration of the built-in head, or None if absent."""
    ref = resources.files("headforge.morphable").joinpath(MEDIAPIPE_DATA)
    if not ref.is_file():
        return None
    data: dict = json.loads(ref.read_text())
    return data


@functools.lru_cache(maxsize=4)
def _build(n_rings: int, n_cols: int, with_mediapipe: bool) -> dict[str, np.ndarray]:
    mesh = build_mesh(n_rings=n_rings, n_cols=n_cols)
    ident = identity_basis(mesh)
    expr = expression_basis(mesh)
    reg = joint_regressor(mesh)
    lmk_f, lmk_b = ibug68_embedding(mesh)
    out: dict[str, np.ndarray] = {
        "f": mesh.faces.astype(np.int64),
        "v_template": mesh.vertices.astype(np.float64),
        "shapedirs": np.concatenate([ident, expr], axis=-1),
        "posedirs": pose_correctives(mesh),
        "J_regressor": reg,
        "J": reg @ mesh.vertices,
        "weights": skinning_weights(mesh),
        "kintree_table": KINTREE.copy(),
        "bs_style": np.array("lbs"),
        "bs_type": np.array("lrotmin"),
        "num_shape_components": np.array(ident.shape[-1], dtype=np.int64),
        "expression_names": np.array(EXPRESSION_NAMES),
        "vt": mesh.uvs.astype(np.float64),
        "ft": mesh.uv_faces.astype(np.int64),
        "part_labels": part_labels(mesh),
        "part_names": np.array(PART_NAMES),
        "lmk68_faces_idx": lmk_f.astype(np.int64),
        "lmk68_bary_coords": lmk_b.astype(np.float64),
        "model_name": np.array(BUILTIN_NAME),
    }
    if with_mediapipe:
        data = read_mediapipe_data()
        fp = mesh_fingerprint(mesh.vertices, mesh.faces)
        if data is not None and data.get("fingerprint") == fp:
            out["lmk478_faces_idx"] = np.asarray(data["face_idx"], dtype=np.int64)
            out["lmk478_bary_coords"] = np.asarray(data["bary"], dtype=np.float64)
        elif data is not None and (n_rings, n_cols) == (64, 80):
            warnings.warn(
                "the committed MediaPipe-478 embedding does not match the built-in head; "
                "regenerate it with `headforge model calibrate-mediapipe`",
                stacklevel=3,
            )
    for v in out.values():
        v.setflags(write=False)
    return out


def build_builtin(
    n_rings: int = 64, n_cols: int = 80, with_mediapipe: bool = True
) -> dict[str, np.ndarray]:
    """The built-in head model as a FLAME-layout dict of numpy arrays (cached, read-only).

    ``n_rings``/``n_cols`` set the skin grid resolution; the MediaPipe-478 embedding is
    attached only for the default resolution it was calibrated on.
    """
    return _build(int(n_rings), int(n_cols), bool(with_mediapipe))


def builtin_mesh(n_rings: int = 64, n_cols: int = 80) -> HeadMesh:
    """The built-in head's mesh with its per-vertex construction facts (for tools and tests)."""
    return build_mesh(n_rings=n_rings, n_cols=n_cols)


__all__ = ["BUILTIN_NAME", "PART_NAMES", "build_builtin", "builtin_mesh", "mesh_fingerprint"]
