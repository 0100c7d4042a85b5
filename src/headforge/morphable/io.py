"""Safe reading and writing of FLAME-format model files.

A FLAME ``.pkl`` is a pickle, i.e. code. :func:`load_flame` reads it with a restricted unpickler
that can only rebuild numpy arrays/dtypes/scalars and scipy sparse matrices; any other global
(``os.system``, ``builtins.eval``, chumpy objects, ...) is refused with :class:`FlameFileError`.
``.npz`` files are read with ``allow_pickle=False``. Landmark embeddings (``.npy`` holding a
pickled dict, ``.npz``, ``.pkl``) go through the same restricted path.

Every problem raises one :class:`FlameFileError` naming the file and what is expected.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from headforge.io_utils import atomic_path

REQUIRED_KEYS = ("f", "v_template", "shapedirs", "posedirs", "J_regressor", "weights",
                 "kintree_table")
OPTIONAL_KEYS = (
    "J", "bs_style", "bs_type", "num_shape_components", "expression_names", "vt", "ft",
    "part_labels", "part_names", "lmk68_faces_idx", "lmk68_bary_coords", "lmk478_faces_idx",
    "lmk478_bary_coords", "lmk68_indices", "lmk478_indices", "model_name",
)
EXPECTED = (
    "expected a FLAME model: generic_model.pkl (FLAME 2020) or flame2023.pkl, or a .npz "
    f"written by `headforge model export`, holding keys {list(REQUIRED_KEYS)} "
    f"(optional: {list(OPTIONAL_KEYS)})"
)
FLAME_2020_SHAPE = 300  # FLAME 2020/2023 shapedirs: 300 identity then 100 expression columns

_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"),
    ("__builtin__", "object"), ("builtins", "object"),
}
_SPARSE_CLASSES = {"csc_matrix", "csr_matrix", "coo_matrix"}
_SPARSE_MODULES = {"scipy.sparse", "scipy.sparse.csc", "scipy.sparse.csr", "scipy.sparse.coo",
                   "scipy.sparse._csc", "scipy.sparse._csr", "scipy.sparse._coo"}


class FlameFileError(ValueError):
    """A FLAME model or landmark file that cannot be used, with what was expected."""


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """Stand-in for ``_codecs.encode``, which Python 3 protocol-2 pickles use for raw bytes."""
    if encoding.lower().replace("-", "") not in ("latin1", "iso88591"):
        raise FlameFileError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


class _SafeUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, source: str) -> None:
        super().__init__(file, encoding="latin1")
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        if module.split(".")[0] == "chumpy":
            raise FlameFileError(
                f"{self._source} contains chumpy objects ({module}.{name}); headforge does not "
                "import chumpy. Convert the file once to plain numpy arrays (e.g. load it where "
                "chumpy is installed and re-save every value with np.asarray, as smplx's "
                "tools/clean_ch.py does), then point head_model.flame_path at the result"
            )
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        if module in _SPARSE_MODULES and name in _SPARSE_CLASSES:
            import scipy.sparse

            return getattr(scipy.sparse, name)
        raise FlameFileError(
            f"{self._source}: refusing to unpickle global {module}.{name}: a FLAME file may only "
            "hold numpy arrays and scipy sparse matrices. The file is not a FLAME model or has "
            f"been tampered with; {EXPECTED}"
        )


def safe_unpickle(data: bytes, source: str = "<bytes>") -> Any:
    """Unpickle ``data`` allowing only numpy/scipy-sparse reconstruction (latin1 strings)."""
    try:
        return _SafeUnpickler(io.BytesIO(data), source).load()
    except FlameFileError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as e:
        raise FlameFileError(f"{source} is truncated or not a valid pickle ({e}); {EXPECTED}") \
            from e


def _npy_from_bytes(data: bytes, source: str) -> np.ndarray:
    """Read one .npy payload; object arrays go through the restricted unpickler."""
    f = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    except ValueError as e:
        raise FlameFileError(f"{source} is not a valid .npy file ({e})") from e
    if dtype.hasobject:
        obj = safe_unpickle(data[f.tell():], source)
        return np.asarray(obj) if not isinstance(obj, np.ndarray) else obj
    f.seek(0)
    try:
        return np.lib.format.read_array(f, allow_pickle=False)
    except ValueError as e:
        raise FlameFileError(f"{source} is truncated or corrupt ({e})") from e


def _read_mapping(path: Path) -> dict[str, Any]:
    """Read a .pkl/.npz/.npy file into a dict of values (restricted, no arbitrary code)."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".npz" or data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                return {
                    name[:-4]: _npy_from_bytes(z.read(name), f"{path}:{name}")
                    for name in z.namelist() if name.endswith(".npy")
                }
        except (zipfile.BadZipFile, EOFError, OSError) as e:
            raise FlameFileError(f"{path} is truncated or not a valid .npz ({e}); {EXPECTED}") \
                from e
    if suffix == ".npy" or data[:6] == b"\x93NUMPY":
        arr = _npy_from_bytes(data, str(path))
        obj = arr.item() if arr.dtype == object and arr.shape == () else arr
        if not isinstance(obj, dict):
            raise FlameFileError(f"{path}: expected a dict saved with np.save, got {type(obj)}")
        return obj
    obj = safe_unpickle(data, str(path))
    if not isinstance(obj, dict):
        raise FlameFileError(f"{path}: the pickle holds a {type(obj).__name__}, not a dict; "
                             f"{EXPECTED}")
    return obj


def _dense(value: Any, key: str, path: Path) -> np.ndarray:
    if hasattr(value, "toarray"):  # scipy sparse (J_regressor in FLAME files)
        value = value.toarray()
    if isinstance(value, bytes):
        value = value.decode("latin1")
    arr = np.asarray(value)
    if arr.dtype == object:
        raise FlameFileError(f"{path}: key {key!r} is not a numeric array ({type(value)}); "
                             f"{EXPECTED}")
    return arr


def validate_flame(d: dict[str, np.ndarray], source: str) -> None:
    """Check keys and shapes of a FLAME-layout dict; raise one FlameFileError listing problems."""
    problems = []
    missing = [k for k in REQUIRED_KEYS if k not in d]
    extra = sorted(k for k in d if k not in REQUIRED_KEYS and k not in OPTIONAL_KEYS)
    if missing:
        problems.append(f"missing key(s) {missing}")
    if extra:
        problems.append(f"unexpected key(s) {extra}")
    if not missing:
        v = d["v_template"]
        n_v = v.shape[0] if v.ndim == 2 else -1
        checks = {
            "v_template": v.ndim == 2 and v.shape[1] == 3,
            "f": d["f"].ndim == 2 and d["f"].shape[1] == 3 and d["f"].size > 0
            and 0 <= d["f"].min() and d["f"].max() < n_v,
            "shapedirs": d["shapedirs"].ndim == 3 and d["shapedirs"].shape[:2] == (n_v, 3),
            "posedirs": d["posedirs"].ndim == 3 and d["posedirs"].shape[:2] == (n_v, 3),
            "J_regressor": d["J_regressor"].ndim == 2 and d["J_regressor"].shape[1] == n_v,
            "weights": d["weights"].ndim == 2 and d["weights"].shape[0] == n_v,
            "kintree_table": d["kintree_table"].ndim == 2 and d["kintree_table"].shape[0] == 2,
        }
        for key, ok in checks.items():
            if not ok:
                problems.append(f"{key} has shape {list(d[key].shape)}")
        if not problems:
            n_j = d["J_regressor"].shape[0]
            if d["weights"].shape[1] != n_j or d["kintree_table"].shape[1] != n_j:
                problems.append(f"weights/kintree_table disagree with {n_j} joints")
            if d["posedirs"].shape[2] != 9 * (n_j - 1):
                problems.append(f"posedirs needs 9*(J-1)={9 * (n_j - 1)} columns")
            n_shape = int(d.get("num_shape_components", FLAME_2020_SHAPE))
            if not 0 < n_shape < d["shapedirs"].shape[2]:
                problems.append(f"shapedirs has {d['shapedirs'].shape[2]} columns; expected "
                                f"{n_shape} identity + expression (set num_shape_components)")
    if problems:
        raise FlameFileError(f"{source}: {'; '.join(problems)}. V = v_template rows, J joints: "
                             f"f [F,3], shapedirs [V,3,K], posedirs [V,3,9(J-1)], "
                             f"J_regressor [J,V], weights [V,J], kintree_table [2,J]; {EXPECTED}")


def load_flame(
    path: str | os.PathLike[str], landmark_embedding_path: str | os.PathLike[str] | None = None
) -> dict[str, np.ndarray]:
    """Load a FLAME model file (.pkl or .npz) into a validated dict of numpy arrays.

    With ``landmark_embedding_path`` the landmark embedding is read too and stored under the
    ``lmk68_*`` / ``lmk478_*`` keys (see :func:`load_landmark_embedding`).
    """
    p = Path(path)
    if not str(path) or not p.is_file():
        raise FlameFileError(
            f"FLAME model not found at {str(path)!r}: put generic_model.pkl (FLAME 2020) or "
            "flame2023.pkl there (licensed from flame.is.tue.mpg.de), set head_model.flame_path "
            "in params.yaml to it, or use head_model.source: builtin"
        )
    raw = _read_mapping(p)
    d = {str(k): _dense(v, str(k), p) for k, v in raw.items()}
    validate_flame(d, str(p))
    if landmark_embedding_path:
        d.update(load_landmark_embedding(landmark_embedding_path, len(d["f"])))
    return d


def load_landmark_embedding(
    path: str | os.PathLike[str], n_faces: int | None = None
) -> dict[str, np.ndarray]:
    """Read a FLAME landmark embedding into ``lmk68_*`` or ``lmk478_*`` keys.

    Understood layouts: DECA/EMOCA ``landmark_embedding.npy`` (``full_lmk_faces_idx`` /
    ``full_lmk_bary_coords``, 68 points), ``flame_static_embedding.pkl`` (``lmk_face_idx`` /
    ``lmk_b_coords``; 68 points, or 51 = iBUG points 17-67), FLAME's
    ``mediapipe_landmark_embedding.npz`` (``lmk_face_idx``, ``lmk_b_coords``,
    ``landmark_indices`` into the 478 MediaPipe points), and our own ``lmk68_*``/``lmk478_*``.
    """
    p = Path(path)
    want = ("landmark_embedding.npy (full_lmk_faces_idx, full_lmk_bary_coords), "
            "flame_static_embedding.pkl (lmk_face_idx, lmk_b_coords) or "
            "mediapipe_landmark_embedding.npz (lmk_face_idx, lmk_b_coords, landmark_indices)")
    if not p.is_file():
        raise FlameFileError(f"landmark embedding not found at {str(path)!r}: expected {want}, "
                             "or clear head_model.landmark_embedding_path")
    raw = {str(k): _dense(v, str(k), p) for k, v in _read_mapping(p).items()}
    out: dict[str, np.ndarray] = {}
    if any(k.startswith("lmk68_") or k.startswith("lmk478_") for k in raw):
        out = {k: v for k, v in raw.items() if k.startswith(("lmk68_", "lmk478_"))}
    elif "full_lmk_faces_idx" in raw and "full_lmk_bary_coords" in raw:
        out["lmk68_faces_idx"] = raw["full_lmk_faces_idx"].reshape(-1).astype(np.int64)
        out["lmk68_bary_coords"] = raw["full_lmk_bary_coords"].reshape(-1, 3).astype(np.float64)
    elif "lmk_face_idx" in raw and "lmk_b_coords" in raw:
        fidx = raw["lmk_face_idx"].reshape(-1).astype(np.int64)
        bary = raw["lmk_b_coords"].reshape(-1, 3).astype(np.float64)
        if "landmark_indices" in raw:
            out["lmk478_faces_idx"], out["lmk478_bary_coords"] = fidx, bary
            out["lmk478_indices"] = raw["landmark_indices"].reshape(-1).astype(np.int64)
        elif len(fidx) in (51, 68):
            out["lmk68_faces_idx"], out["lmk68_bary_coords"] = fidx, bary
            out["lmk68_indices"] = np.arange(68 - len(fidx), 68)
        else:
            raise FlameFileError(f"{p}: {len(fidx)} landmarks without landmark_indices; "
                                 f"expected 51 or 68, or {want}")
    else:
        raise FlameFileError(f"{p}: keys {sorted(raw)} are not a landmark embedding; "
                             f"expected {want}")
    for prefix in ("lmk68", "lmk478"):
        fi, bc = out.get(f"{prefix}_faces_idx"), out.get(f"{prefix}_bary_coords")
        if fi is None or bc is None:
            continue
        if bc.shape != (len(fi), 3) or (n_faces is not None and (fi.min() < 0 or fi.max() >= n_faces)):
            raise FlameFileError(f"{p}: {prefix} embedding does not fit this model "
                                 f"({len(fi)} points, faces up to {fi.max()}, model has {n_faces})")
    return out


def save_flame(path: str | os.PathLike[str], d: dict[str, np.ndarray]) -> Path:
    """Write a FLAME-layout dict atomically: ``.pkl`` (pickle protocol 2, numpy arrays only,
    as FLAME ships) or ``.npz`` (compressed, no pickle)."""
    p = Path(path)
    arrays = {k: np.asarray(v) for k, v in d.items()}
    validate_flame(arrays, str(p))
    with atomic_path(p) as tmp:
        if p.suffix.lower() == ".pkl":
            with open(tmp, "wb") as f:
                pickle.dump(arrays, f, protocol=2)
        elif p.suffix.lower() == ".npz":
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **arrays)
        else:
            raise FlameFileError(f"{p}: choose a .pkl or .npz file name")
    return p
