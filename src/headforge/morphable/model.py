"""``MorphableHead``: a FLAME-format head model as a torch module holding its buffers.

    model = load_head_model()                      # built-in open model (params.yaml default)
    out = model(shape=betas, expr=psi, jaw_pose=jaw)  # missing parameters are zeros
    out.vertices  # [B, V, 3];  out.landmarks68  # [B, 68, 3]

Parameters follow FLAME/VHAP: ``shape`` [B, n_shape], ``expr`` [B, n_expr], ``rotation``,
``neck_pose``, ``jaw_pose`` [B, 3] axis-angle, ``eyes_pose`` [B, 6] (left eye, then right eye;
left is the subject's left, +x), ``translation`` [B, 3] added after posing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from headforge.config import HeadModelConfig
from headforge.io_utils import sha256_file
from headforge.morphable.builtin import BUILTIN_NAME, PART_NAMES, build_builtin
from headforge.morphable.io import FLAME_2020_SHAPE, load_flame
from headforge.morphable.lbs import barycentric_points, lbs

_PARAM_DIMS = {"rotation": 3, "neck_pose": 3, "jaw_pose": 3, "eyes_pose": 6, "translation": 3}


@dataclass(frozen=True)
class HeadOutput:
    """Posed head. Landmarks are None when the model has no embedding for that convention."""

    vertices: Tensor  # [B, V, 3]
    joints: Tensor  # [B, J, 3] (J = 5: global, neck, jaw, left eye, right eye)
    landmarks68: Tensor | None  # [B, 68, 3] iBUG-68
    landmarks478: Tensor | None  # [B, 478, 3] MediaPipe FaceMesh (refined, with irises)


def geometric_part_labels(v: np.ndarray, weights: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """Approximate part labels [V] for a FLAME file that has none (FLAME ships no segmentation).

    Eyes from the eye-joint weights; scalp above the brows and over the back; neck below the
    jaw; ears far to the sides at jaw-joint height; the rest is face. FLAME has no mouth
    cavity, so no vertex is labelled "mouth".
    """
    eye_c = joints[3:5].mean(0)
    jaw = joints[2]
    x, y, z = v[:, 0] - eye_c[0], v[:, 1], v[:, 2]
    labels = np.zeros(len(v), dtype=np.int64)
    scalp = (y > eye_c[1] + 0.045) | ((z < jaw[2] - 0.05) & (y > jaw[1] - 0.04))
    labels[scalp] = PART_NAMES.index("scalp")
    labels[(y < jaw[1] - 0.075) | ((y < jaw[1] - 0.04) & (z < jaw[2] - 0.03))] = PART_NAMES.index(
        "neck"
    )
    ears = (np.abs(x) > 0.068) & (np.abs(y - jaw[1]) < 0.04) & (np.abs(z - jaw[2]) < 0.04)
    labels[ears] = PART_NAMES.index("ears")
    labels[weights[:, 3:5].sum(1) > 0.5] = PART_NAMES.index("eyes")
    return labels


class MorphableHead(nn.Module):
    """FLAME-format linear head model (identity + expression blend shapes, 5-joint LBS)."""

    _v_template: Tensor  # [V, 3]
    shapedirs: Tensor  # [V, 3, n_shape + n_expr] (the columns in use)
    posedirs: Tensor  # [V, 3, 36]
    j_regressor: Tensor  # [J, V]
    lbs_weights: Tensor  # [V, J]
    parents: Tensor  # [J] long
    _faces: Tensor  # [F, 3] long
    _uvs: Tensor | None  # [T, 2]
    _uv_faces: Tensor | None  # [F, 3] long
    _part_labels: Tensor  # [V] long
    lmk68_faces_idx: Tensor | None  # [68] long
    lmk68_bary: Tensor | None  # [68, 3]
    lmk68_valid: Tensor | None  # [68] bool: points the embedding defines
    lmk478_faces_idx: Tensor | None  # [478] long
    lmk478_bary: Tensor | None  # [478, 3]
    lmk478_valid: Tensor | None  # [478] bool

    def __init__(
        self,
        data: dict[str, np.ndarray],
        n_shape: int | None = None,
        n_expr: int | None = None,
        model_id: str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        sd = np.asarray(data["shapedirs"])
        total_shape = int(data.get("num_shape_components", FLAME_2020_SHAPE))
        total_expr = sd.shape[2] - total_shape
        n_shape = total_shape if n_shape is None else int(n_shape)
        n_expr = total_expr if n_expr is None else int(n_expr)
        if not 0 <= n_shape <= total_shape or not 0 <= n_expr <= total_expr:
            raise ValueError(
                f"head_model.n_shape={n_shape}, n_expr={n_expr}: this model has "
                f"{total_shape} identity and {total_expr} expression components; lower them "
                "in params.yaml"
            )
        cols = np.r_[0:n_shape, total_shape : total_shape + n_expr]
        self._n_shape, self._n_expr = n_shape, n_expr
        self.model_id = model_id or str(data.get("model_name", "flame"))
        names = data.get("expression_names")
        self.expression_names: tuple[str, ...] = (
            tuple(str(s) for s in np.asarray(names)[:n_expr]) if names is not None else ()
        )

        def f(a: np.ndarray) -> Tensor:
            return torch.tensor(np.asarray(a, dtype=np.float64), dtype=dtype)

        def i(a: np.ndarray) -> Tensor:
            return torch.tensor(np.asarray(a).astype(np.int64))

        v = np.asarray(data["v_template"], dtype=np.float64)
        self.register_buffer("_v_template", f(v))
        self.register_buffer("shapedirs", f(sd[:, :, cols]))
        self.register_buffer("posedirs", f(data["posedirs"]))
        self.register_buffer("j_regressor", f(data["J_regressor"]))
        self.register_buffer("lbs_weights", f(data["weights"]))
        kin = np.asarray(data["kintree_table"]).astype(np.int64)
        parents = kin[0].copy()
        parents[0] = -1
        self.register_buffer("parents", torch.as_tensor(parents))
        self.register_buffer("_faces", i(data["f"]))
        if "vt" in data and "ft" in data:
            self.register_buffer("_uvs", f(data["vt"]))
            self.register_buffer("_uv_faces", i(data["ft"]))
        else:
            self._uvs = None
            self._uv_faces = None
        if "part_labels" in data:
            labels = np.asarray(data["part_labels"])
        else:
            joints = np.asarray(data["J_regressor"], dtype=np.float64) @ v
            labels = geometric_part_labels(v, np.asarray(data["weights"]), joints)
        self.register_buffer("_part_labels", i(labels))
        for name, size in (("lmk68", 68), ("lmk478", 478)):
            fi, bc = data.get(f"{name}_faces_idx"), data.get(f"{name}_bary_coords")
            if fi is None or bc is None:
                setattr(self, f"{name}_faces_idx", None)
                setattr(self, f"{name}_bary", None)
                setattr(self, f"{name}_valid", None)
                continue
            idx = np.asarray(data.get(f"{name}_indices", np.arange(size)), dtype=np.int64)
            valid = np.zeros(size, dtype=bool)
            valid[idx] = True
            full_f = np.zeros(size, dtype=np.int64)
            full_b = np.zeros((size, 3))
            full_f[idx] = np.asarray(fi).reshape(-1)
            full_b[idx] = np.asarray(bc).reshape(-1, 3)
            self.register_buffer(f"{name}_faces_idx", torch.as_tensor(full_f))
            self.register_buffer(f"{name}_bary", f(full_b))
            self.register_buffer(f"{name}_valid", torch.as_tensor(valid))

    # --- read-only views -------------------------------------------------------------------
    @property
    def n_shape(self) -> int:
        return self._n_shape

    @property
    def n_expr(self) -> int:
        return self._n_expr

    @property
    def faces(self) -> Tensor:
        """[F, 3] long."""
        return self._faces

    @property
    def uvs(self) -> Tensor | None:
        """[T, 2] in [0, 1] (None for a FLAME file without ``vt``)."""
        return self._uvs

    @property
    def uv_faces(self) -> Tensor | None:
        """[F, 3] long indices into ``uvs``."""
        return self._uv_faces

    @property
    def part_labels(self) -> Tensor:
        """[V] long indices into ``PART_NAMES``."""
        return self._part_labels

    @property
    def v_template(self) -> Tensor:
        """[V, 3] mean head."""
        return self._v_template

    @property
    def n_vertices(self) -> int:
        return int(self._v_template.shape[0])

    def part_mask(self, name: str) -> Tensor:
        """[V] bool mask of one part (see ``PART_NAMES``)."""
        if name not in PART_NAMES:
            raise ValueError(f"unknown part {name!r}; parts are {PART_NAMES}")
        return self._part_labels == PART_NAMES.index(name)

    # --- forward ----------------------------------------------------------------------------
    def forward(
        self,
        shape: Tensor | None = None,  # [B, <=n_shape]
        expr: Tensor | None = None,  # [B, <=n_expr]
        rotation: Tensor | None = None,  # [B, 3]
        neck_pose: Tensor | None = None,  # [B, 3]
        jaw_pose: Tensor | None = None,  # [B, 3]
        eyes_pose: Tensor | None = None,  # [B, 6]
        translation: Tensor | None = None,  # [B, 3]
    ) -> HeadOutput:
        given = dict(shape=shape, expr=expr, rotation=rotation, neck_pose=neck_pose,
                     jaw_pose=jaw_pose, eyes_pose=eyes_pose, translation=translation)
        batch = {t.shape[0] for t in given.values() if t is not None and t.ndim == 2}
        for name, t in given.items():
            if t is not None and t.ndim != 2:
                raise ValueError(f"{name} must be [B, D], got {list(t.shape)}")
        if len(batch) > 1:
            raise ValueError(f"parameters disagree on the batch size: {sorted(batch)}")
        b = batch.pop() if batch else 1
        ref = self._v_template
        dims = {"shape": self._n_shape, "expr": self._n_expr, **_PARAM_DIMS}
        full = {}
        for name, t in given.items():
            d = dims[name]
            if t is None:
                full[name] = ref.new_zeros(b, d)
                continue
            if t.shape[1] > d or (name not in ("shape", "expr") and t.shape[1] != d):
                raise ValueError(f"{name} must be [B, {d}] for this model, got {list(t.shape)}")
            t = t.to(ref.dtype)
            full[name] = t if t.shape[1] == d else torch.cat([t, t.new_zeros(b, d - t.shape[1])], 1)
        pose = torch.cat([full["rotation"], full["neck_pose"], full["jaw_pose"],
                          full["eyes_pose"]], 1).reshape(b, -1, 3)
        res = lbs(torch.cat([full["shape"], full["expr"]], 1), pose, ref, self.shapedirs,
                  self.posedirs, self.j_regressor, self.parents, self.lbs_weights)
        t = full["translation"][:, None]
        verts = res.vertices + t
        return HeadOutput(
            vertices=verts,
            joints=res.joints + t,
            landmarks68=self._landmarks(verts, "lmk68"),
            landmarks478=self._landmarks(verts, "lmk478"),
        )

    def _landmarks(self, verts: Tensor, name: str) -> Tensor | None:
        fi = getattr(self, f"{name}_faces_idx")
        if fi is None:
            return None
        pts = barycentric_points(verts, self._faces, fi, getattr(self, f"{name}_bary"))
        valid = getattr(self, f"{name}_valid")
        return pts if bool(valid.all()) else pts * valid[None, :, None].to(pts.dtype)


def load_head_model(cfg: HeadModelConfig | None = None) -> MorphableHead:
    """The head model ``params.yaml``'s ``head_model`` section names (built-in by default)."""
    cfg = cfg or HeadModelConfig()
    if cfg.source == "builtin":
        return MorphableHead(build_builtin(), cfg.n_shape, cfg.n_expr, model_id=BUILTIN_NAME)
    data = load_flame(cfg.flame_path, cfg.landmark_embedding_path or None)
    model_id = f"flame-{sha256_file(cfg.flame_path)[:16]}"
    return MorphableHead(data, cfg.n_shape, cfg.n_expr, model_id=model_id)
